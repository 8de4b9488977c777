/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/coexist.h"
#include "engine/transaction.h"
#include "table/render.h"

static void add(struct transaction *tx, struct transaction_part part)
{
	/* four kinds, each at most once: the array cannot overflow in correct use */
	if (tx->count < sizeof(tx->parts) / sizeof(tx->parts[0]))
		tx->parts[tx->count++] = part;
}

void transaction_table(struct transaction *tx, const struct table_plan *plan,
		       const char *table_text)
{
	if (plan->step == TABLE_REPLACE)
		add(tx, (struct transaction_part){ .kind = PART_TABLE, .text = table_text });
	else if (plan->step == TABLE_ELEMENTS)
		add(tx, (struct transaction_part){ .kind = PART_ELEMENTS, .text = plan->commands });
}

void transaction_delete_table(struct transaction *tx)
{
	add(tx, (struct transaction_part){ .kind = PART_DELETE_TABLE });
}

void transaction_firewalls(struct transaction *tx, const struct foreign_report *r,
			   bool integrate)
{
	add(tx, (struct transaction_part){ .kind = PART_FIREWALLS, .report = r,
					   .integrate = integrate });
}

static bool write_part(const struct transaction_part *p, FILE *out)
{
	switch (p->kind) {
	case PART_TABLE:
	case PART_ELEMENTS:
		return fputs(p->text, out) >= 0;
	case PART_DELETE_TABLE:
		return render_flush(out);
	case PART_FIREWALLS:
		return coexist_render(p->report, p->integrate, out);
	}
	return false;
}

/* The nft text, written now: *text malloc'd ("" when it does nothing); false: no memory. */
static bool transaction_text(struct transaction *tx, char **text)
{
	size_t len = 0;
	FILE *mem = open_memstream(text, &len);
	bool ok = mem != NULL;
	long before, after;

	memset(tx->written, 0, sizeof(tx->written));
	for (size_t i = 0; ok && i < tx->count; i++) {
		before = ftell(mem);
		ok = write_part(&tx->parts[i], mem);
		after = ftell(mem);
		tx->written[i] = ok && after > before;
	}
	if (!mem || fclose(mem) != 0 || !ok) {
		free(*text);
		*text = NULL;
		return false;
	}
	return true;
}

enum exit_code transaction_commit(struct transaction *tx, const struct kernel_ops *k,
				  bool dry_run, bool *sent, struct error *err)
{
	char *text = NULL;
	enum exit_code rc;

	*sent = false;
	if (!transaction_text(tx, &text))
		return error_set(err, "out of memory"), EXIT_SYSTEM;
	rc = text[0] ? k->run(k->ctx, text, dry_run, err) : EXIT_OK;
	*sent = rc == EXIT_OK && text[0];
	free(text);
	return rc;
}

bool transaction_wrote(const struct transaction *tx, enum transaction_part_kind kind)
{
	for (size_t i = 0; i < tx->count; i++)
		if (tx->parts[i].kind == kind && tx->written[i])
			return true;
	return false;
}
