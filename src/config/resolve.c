/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/entries.h"
#include "config/resolve.h"
#include "config/validate.h"

int forward_order_cmp(const struct forward *a, const struct forward *b)
{
	return a->order < b->order ? -1 : a->order > b->order;
}

static int by_order(const void *a, const void *b)
{
	return forward_order_cmp(a, b);
}

bool model_unresolve_vms(struct model *m)
{
	/* resolving only moved forwards out of m->forwards: they fit back in its capacity */
	if (m->forward_count + m->waiting_count > m->forward_capacity)
		return false;
	for (size_t i = 0; i < m->waiting_count; i++)
		m->forwards[m->forward_count++] = m->waiting[i].f;
	free(m->waiting);
	m->waiting = NULL;
	m->waiting_count = 0;
	qsort(m->forwards, m->forward_count, sizeof(*m->forwards), by_order);
	for (size_t i = 0; i < m->forward_count; i++) {
		struct forward *f = &m->forwards[i];

		if (f->vm.domain[0]) {
			f->last_source = f->source;
			f->source = GUEST_UNRESOLVED;
		}
	}
	return true;
}

const char *guest_source_name(enum guest_source source)
{
	switch (source) {
	case GUEST_LEASE:
		return "DHCP lease";
	case GUEST_STATIC:
		return "static DHCP host";
	case GUEST_ARP:
		return "ARP";
	case GUEST_UNRESOLVED:
		return "not resolved";
	case GUEST_GIVEN:
		break;
	}
	return "config";
}

/* Another domain's forward, resolved before `f`, that has f's address; NULL: none. */
static const struct forward *address_taken(const struct model *m, size_t kept,
					   const struct forward *f)
{
	for (size_t i = 0; i < kept; i++) {
		const struct forward *o = &m->forwards[i];

		if (o->vm.domain[0] && strcmp(o->vm.domain, f->vm.domain) &&
		    !addr_cmp(&o->guest, &f->guest))
			return o;
	}
	return NULL;
}

static bool set_aside(struct model *m, const struct forward *f, const char *why)
{
	struct waiting_forward *grown = realloc(m->waiting, (m->waiting_count + 1) * sizeof(*grown));

	if (!grown)
		return false;
	m->waiting = grown;
	grown[m->waiting_count].f = *f;
	/* a reason goes into comments and log lines: one line of printable bytes */
	snprintf(grown[m->waiting_count].why, sizeof(grown->why), "%.*s", (int)sizeof(grown->why) - 1,
		 why);
	for (char *c = grown[m->waiting_count].why; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = ' ';
	m->waiting_count++;
	return true;
}

bool model_resolve_vms(struct model *m, const struct vm_resolver *r, unsigned mode,
		       struct error *err)
{
	size_t kept = 0;

	for (size_t i = 0; i < m->forward_count; i++) {
		struct forward f = m->forwards[i];
		struct vm_answer answer = { .found = VM_FOUND };
		const struct forward *other;
		const char *why = answer.why;
		char taken[400], at[512], addr[INET6_ADDRSTRLEN];

		if (f.source == GUEST_UNRESOLVED) {
			r->lookup(r->ctx, &f, &answer);
			if (answer.found == VM_UNSURE && (mode & RESOLVE_KEEP_LAST) &&
			    f.last_source != GUEST_UNRESOLVED) {
				answer.found = VM_FOUND;
				answer.addr = f.guest;
				answer.source = f.last_source;
			}
			if (answer.found == VM_FOUND) {
				f.guest = answer.addr;
				f.source = answer.source;
			}
		}
		if (answer.found == VM_UNSURE)
			answer.found = VM_WAITING;
		if (answer.found == VM_UNKNOWN && (mode & RESOLVE_UNKNOWN_WAITS)) {
			snprintf(taken, sizeof(taken), "domain %s %.300s", f.vm.domain, answer.why);
			answer.found = VM_WAITING;
			why = taken;
		}
		if (answer.found == VM_UNKNOWN) {
			format_origin(&f.where, at, sizeof(at));
			/* the forwards moved so far are whole again in m->forwards for model_free */
			while (i < m->forward_count)
				m->forwards[kept++] = m->forwards[i++];
			m->forward_count = kept;
			return error_set(err, "%s: forward vm: '%s' %s", at, f.vm.domain, answer.why);
		}
		if (answer.found == VM_FOUND && f.vm.domain[0] && (other = address_taken(m, kept, &f))) {
			format_origin(&other->where, at, sizeof(at));
			snprintf(taken, sizeof(taken), "its address %s (%s) is also domain %.64s's "
				 "(%.200s): two guests cannot share one; a stale lease? see 'virsh "
				 "net-dhcp-leases'", addr_text(&f.guest, addr),
				 guest_source_name(f.source), other->vm.domain, at);
			answer.found = VM_WAITING;
			why = taken;
		}
		if (answer.found == VM_WAITING) {
			f.source = GUEST_UNRESOLVED;
			f.guest = (struct addr){ .family = f.guest.family };
			if (set_aside(m, &f, why))
				continue;
			/* every forward in one of the two arrays, once, for model_free */
			while (i < m->forward_count)
				m->forwards[kept++] = m->forwards[i++];
			m->forward_count = kept;
			return error_set(err, "out of memory");
		}
		m->forwards[kept++] = f;
	}
	m->forward_count = kept;
	return true;
}
