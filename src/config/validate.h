/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Every rule about what a valid value and a valid model are, in one place. The field
 * checks return NULL when the text is valid, else a short reason that callers put after
 * the file, line and field name.
 */
#ifndef NFT_PORTFWD_VALIDATE_H
#define NFT_PORTFWD_VALIDATE_H

#include <stdbool.h>

#include "util/common.h"
#include "config/model.h"

/* "1" to "65535", decimal digits only. */
const char *parse_port(const char *text, uint16_t *port);

/* "PORT" or "FIRST-LAST" with FIRST <= LAST. */
const char *parse_port_range(const char *text, uint16_t *first, uint16_t *last);

/* "ADDR/LEN" or "ADDR" (a single address). Host bits set is an error: PREFIX_HOST_BITS. */
const char *parse_prefix(const char *text, struct prefix *prefix);
extern const char PREFIX_HOST_BITS[];

/* Does one network contain the other (or are they the same)? */
bool prefixes_overlap(const struct prefix *a, const struct prefix *b);

/* The prefix with its host bits cleared. */
struct prefix prefix_network(const struct prefix *p);

/* An IPv4 or IPv6 literal (inet_pton: never a name lookup). */
const char *parse_addr(const char *text, struct addr *addr);

/* The last address of a network: its host bits set. */
struct addr prefix_last(const struct prefix *p);

/* Why a `from` network can hold no client (NULL when it can). */
const char *check_client_net(const struct prefix *net);

/* How many map elements one config may expand into (documented in nft-portfwd.conf(5)). */
#define CONFIG_MAX_ELEMENTS 500000u
/* The largest config file read (documented in nft-portfwd.conf(5)). */
#define CONFIG_MAX_BYTES (16u << 20)

/* Addresses a host can be reached at: not unspecified, multicast or broadcast. */
const char *check_host_addr(const struct addr *addr);

/* Addresses a guest can be: a unicast address that is not the host's loopback. */
const char *check_guest_addr(const struct addr *addr);

/* integrate-mark: one bit, "0x01000000" or decimal without a leading zero. */
const char *parse_mark_bit(const char *text, uint32_t *bit);

/* "tcp", "udp", "tcp,udp" (either order). */
const char *parse_protos(const char *text, unsigned *protos);

/* An interface name the kernel would accept (and that needs no quoting in nft). */
const char *check_iface_name(const char *text);

/* The bytes a forward's name may hold: none needs escaping in an nft comment. */
#define FORWARD_NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."

/* A forward's name: 1 to FORWARD_NAME_MAX letters, digits, '-', '_' or '.'. */
const char *check_forward_name(const char *text);

/*
 * A libvirt domain or network name as a forward may give it: 1 to VM_NAME_MAX letters,
 * digits, '-', '_', '.' and '+' (libvirt allows more; these are what a config line and a
 * comment of ours can carry as they are).
 */
const char *check_vm_name(const char *text);

/* "52:54:00:00:00:79" -> six bytes; NULL, or why not. */
const char *parse_mac(const char *text, uint8_t mac[6]);

/* Six bytes -> "52:54:00:00:00:79", as libvirt writes it. */
const char *format_mac(const uint8_t mac[6], char text[18]);

/* A libvirt connection URI, as in qemu:///system or qemu+ssh://host/system. */
const char *check_libvirt_uri(const char *text);

/* The largest rate and burst a limit takes. */
#define RATE_MAX 100000

/* "RATE[/second|minute|hour]" into limit->rate and limit->seconds (burst untouched). */
const char *parse_rate(const char *text, struct rate_limit *limit);

/* "N": connections a client may open at once before the rate applies. */
const char *parse_burst(const char *text, uint32_t *burst);

/*
 * How long a client's bucket takes to fill again (burst / rate, whole periods): the
 * timeout of its element in the limit's set (render.c), so that its state lives no longer
 * than it matters.
 */
uint64_t limit_refill_seconds(const struct rate_limit *limit);

/* The longest set timeout nft 1.0.6 takes in seconds: larger ones are "value too large". */
#define LIMIT_REFILL_MAX 99999999u

/* A limit whose rate and burst the kernel can hold; NULL when it can (the reason else). */
const char *check_limit(const struct rate_limit *limit, char *buf, size_t size);

/*
 * Rules that span forwards: one guest for each family, protocol and host port, and each
 * name on one forward.
 */
bool check_model(const struct model *m, struct error *err);

/* "FILE:LINE" or "command line", for the start of error messages. */
void format_origin(const struct origin *where, char *buf, size_t size);

#endif
