/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "sys/route.h"

static int oif_attr(const struct nlattr *attr, void *data)
{
	if (mnl_attr_get_type(attr) == RTA_OIF && mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
		*(uint32_t *)data = mnl_attr_get_u32(attr);
	return MNL_CB_OK;
}

static int route_msg(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct rtmsg), oif_attr, data);
}

/* `ip route get ADDR`: the output interface's index, 0 when there is no route. */
static uint32_t route_get(struct mnl_socket *nl, uint32_t seq, const struct addr *a)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;
	uint32_t oif = 0;
	ssize_t n;

	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (unsigned char)a->family;
	rtm->rtm_dst_len = a->family == AF_INET ? 32 : 128;
	if (a->family == AF_INET)
		mnl_attr_put(nlh, RTA_DST, sizeof(a->v4), &a->v4);
	else
		mnl_attr_put(nlh, RTA_DST, sizeof(a->v6), &a->v6);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0 ||
	    (n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) <= 0 ||
	    mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nl), route_msg, &oif) < 0)
		return 0;
	return oif;
}

struct guest_route *route_guests(const struct entry_list *entries,
				 const volatile sig_atomic_t *cancel, size_t *count)
{
	struct mnl_socket *nl;
	struct entry *sorted;
	struct guest_route *routes;
	size_t n = 0;

	*count = 0;
	if (!entries->count)
		return NULL;
	nl = mnl_socket_open(NETLINK_ROUTE);
	sorted = malloc(entries->count * sizeof(*sorted));
	routes = calloc(entries->count, sizeof(*routes));
	if (!nl || !sorted || !routes || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		free(routes);
		routes = NULL;
		goto done;
	}
	memcpy(sorted, entries->items, entries->count * sizeof(*sorted));
	entries_sort(sorted, entries->count, BY_GUEST);
	for (size_t i = 0; i < entries->count && !(cancel && *cancel); i++) {
		uint32_t oif;

		if (i && !addr_cmp(&sorted[i - 1].guest, &sorted[i].guest))
			continue;
		if ((oif = route_get(nl, (uint32_t)i + 1, &sorted[i].guest)) &&
		    if_indextoname(oif, routes[n].oif))
			routes[n++].guest = sorted[i].guest;
	}
	*count = n;
done:
	if (nl)
		mnl_socket_close(nl);
	free(sorted);
	return routes;
}
