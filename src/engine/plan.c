/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <stdlib.h>

#include "engine/plan.h"

/* The commands from `old` to `wanted` into plan->commands, and what they do. */
static bool diff(const struct element_list *old, const struct element_list *wanted,
		 struct table_plan *plan)
{
	size_t len = 0;
	FILE *mem = open_memstream(&plan->commands, &len);
	bool ok = mem && elements_diff(old, wanted, mem, &plan->change);

	if (!mem || fclose(mem) != 0 || !ok) {
		free(plan->commands);
		plan->commands = NULL;
		return false;
	}
	plan->change_known = true;
	return true;
}

static void replace(struct table_plan *plan, enum replace_reason why)
{
	plan->step = TABLE_REPLACE;
	plan->why = why;
	free(plan->commands);
	plan->commands = NULL;
}

bool plan_table(const struct table_known *live, const struct element_list *wanted,
		struct table_plan *plan)
{
	*plan = (struct table_plan){ .step = TABLE_KEEP };
	if (live->elements && !diff(live->elements, wanted, plan))
		return false;
	if (!live->present)
		replace(plan, REPLACE_ABSENT);
	else if (!live->structure_same)
		replace(plan, REPLACE_STRUCTURE);
	else if (!live->elements)
		replace(plan, REPLACE_UNKNOWN);
	else if (elements_cheaper_replaced(&plan->change, wanted->count))
		replace(plan, REPLACE_FOR_SPEED);
	else if (plan->commands[0])
		plan->step = TABLE_ELEMENTS;
	if (plan->step == TABLE_KEEP) {
		free(plan->commands);
		plan->commands = NULL;
	}
	return true;
}

bool plan_needs_firewalls(const struct table_plan *plan)
{
	return plan->step == TABLE_REPLACE || (plan->step == TABLE_ELEMENTS && plan->change.added);
}

void table_plan_free(struct table_plan *plan)
{
	free(plan->commands);
	element_change_free(&plan->change);
	*plan = (struct table_plan){ 0 };
}
