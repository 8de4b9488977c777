/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "config/validate.h"
#include "sys/libvirt.h"

#ifdef HAVE_LIBVIRT
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>

/*
 * libvirt is loaded when a `to vm` forward first needs it (dlopen), not linked: the 57
 * libraries it brings cost every run of nft-portfwd 10 ms of dynamic loading, on the hosts
 * whose config names no VM too. Its functions are called through this table, filled once
 * per process and never changed after: the library is the process's, as a linked one is.
 */
#define LIBVIRT_SONAME "libvirt.so.0"
#define LIBVIRT_FUNCTIONS(X) \
	X(virConnectClose) X(virConnectDomainEventDeregisterAny) \
	X(virConnectDomainEventRegisterAny) X(virConnectOpenReadOnly) \
	X(virConnectRegisterCloseCallback) X(virConnectUnregisterCloseCallback) X(virDomainFree) \
	X(virDomainGetXMLDesc) X(virDomainInterfaceAddresses) X(virDomainInterfaceFree) \
	X(virDomainIsActive) X(virDomainLookupByName) X(virEventAddHandle) X(virEventAddTimeout) \
	X(virEventRegisterDefaultImpl) X(virEventRemoveHandle) X(virEventRemoveTimeout) \
	X(virEventRunDefaultImpl) X(virGetLastError) X(virNetworkFree) X(virNetworkGetXMLDesc) \
	X(virNetworkLookupByName) X(virSetErrorFunc)

static struct {
#define LIBVIRT_POINTER(name) __typeof__(name) *name;
	LIBVIRT_FUNCTIONS(LIBVIRT_POINTER)
#undef LIBVIRT_POINTER
	char why[300]; /* why it could not be loaded; empty once it is */
} lib;
static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void load_lib(void)
{
	void *handle = dlopen(LIBVIRT_SONAME, RTLD_NOW | RTLD_LOCAL), *symbol;

	if (!handle) {
		snprintf(lib.why, sizeof(lib.why), "cannot load %s (%s): install libvirt0",
			 LIBVIRT_SONAME, dlerror());
		return;
	}
	/* memcpy: ISO C has no cast from an object pointer to a function pointer */
#define LIBVIRT_LOAD(name)                                                                 \
	symbol = lib.why[0] ? NULL : dlsym(handle, #name);                                 \
	if (symbol)                                                                        \
		memcpy(&lib.name, &symbol, sizeof(symbol));                                \
	else if (!lib.why[0])                                                              \
		snprintf(lib.why, sizeof(lib.why), LIBVIRT_SONAME " has no %s: a libvirt0 "    \
			 "older than nft-portfwd was built for", #name);
	LIBVIRT_FUNCTIONS(LIBVIRT_LOAD)
#undef LIBVIRT_LOAD
}

/* NULL once libvirt is loaded; else why it cannot be. */
static const char *lib_missing(void)
{
	pthread_once(&lib_once, load_lib);
	return lib.why[0] ? lib.why : NULL;
}

/* The most interfaces of one domain looked at. */
#define INTERFACES_MAX 16

struct libvirt {
	virConnectPtr conn; /* NULL: not connected (why) */
	char uri[256];
	char why[400];
};

/* libvirt prints every error on stderr unless told otherwise: we say what matters. */
static void quiet(void *data, virErrorPtr error)
{
	(void)data, (void)error;
}

static const char *last_error(void)
{
	virErrorPtr e = lib.virGetLastError();

	return e && e->message ? e->message : "unknown error";
}

struct libvirt *libvirt_open(const char *uri)
{
	struct libvirt *lv = calloc(1, sizeof(*lv));
	const char *missing;

	if (!lv)
		return NULL;
	snprintf(lv->uri, sizeof(lv->uri), "%s", uri);
	if ((missing = lib_missing())) {
		snprintf(lv->why, sizeof(lv->why), "%s", missing);
		return lv;
	}
	lib.virSetErrorFunc(NULL, quiet);
	lv->conn = lib.virConnectOpenReadOnly(uri);
	if (!lv->conn)
		snprintf(lv->why, sizeof(lv->why), "cannot connect to %.120s (is libvirtd running?): "
			 "%.200s", uri, last_error());
	return lv;
}

void libvirt_close(struct libvirt *lv)
{
	if (lv && lv->conn)
		lib.virConnectClose(lv->conn);
	free(lv);
}

/* Every node of `expr` in `xml`, with f called on each; false on bad XML. */
static bool each_node(const char *xml, const char *expr,
		      void (*f)(xmlNodePtr node, void *arg), void *arg)
{
	xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "libvirt.xml", NULL,
				      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	xmlXPathContextPtr ctx = doc ? xmlXPathNewContext(doc) : NULL;
	xmlXPathObjectPtr found = ctx ? xmlXPathEvalExpression((const xmlChar *)expr, ctx) : NULL;
	bool ok = found != NULL;

	for (int i = 0; found && found->nodesetval && i < found->nodesetval->nodeNr; i++)
		f(found->nodesetval->nodeTab[i], arg);
	xmlXPathFreeObject(found);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return ok;
}

/* The attribute `attr` of the first child element `child` of `node` (or of node itself). */
static char *attribute(xmlNodePtr node, const char *child, const char *attr)
{
	for (xmlNodePtr c = child ? node->children : node; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && (!child || !strcmp((const char *)c->name, child)))
			return (char *)xmlGetProp(c, (const xmlChar *)attr);
	return NULL;
}

struct interfaces {
	struct vm_interface *out;
	size_t max, count;
};

static void add_interface(xmlNodePtr node, void *arg)
{
	struct interfaces *list = arg;
	char *mac = attribute(node, "mac", "address"), *type = attribute(node, NULL, "type");
	char *network = type && !strcmp(type, "network") ? attribute(node, "source", "network") : NULL;
	struct vm_interface *i = &list->out[list->count];

	if (list->count < list->max && mac && !parse_mac(mac, i->mac)) {
		snprintf(i->network, sizeof(i->network), "%s", network ? network : "");
		list->count++;
	}
	xmlFree(mac);
	xmlFree(type);
	xmlFree(network);
}

size_t libvirt_domain_interfaces(const char *xml, struct vm_interface *out, size_t max)
{
	struct interfaces list = { out, max, 0 };

	return each_node(xml, "/domain/devices/interface", add_interface, &list) ? list.count : 0;
}

struct static_host {
	const uint8_t *mac;
	const char *name;
	int family;
	struct addr *addr;
	bool found;
};

static void match_host(xmlNodePtr node, void *arg)
{
	struct static_host *want = arg;
	char *ip = attribute(node, NULL, "ip"), *mac = attribute(node, NULL, "mac");
	char *name = attribute(node, NULL, "name");
	uint8_t bytes[6];
	struct addr addr;
	bool same = want->family == AF_INET ? mac && !parse_mac(mac, bytes) &&
						   !memcmp(bytes, want->mac, 6)
					    : name && !strcmp(name, want->name);

	if (!want->found && same && ip && !parse_addr(ip, &addr) && addr.family == want->family) {
		*want->addr = addr;
		want->found = true;
	}
	xmlFree(ip);
	xmlFree(mac);
	xmlFree(name);
}

bool libvirt_static_host(const char *network_xml, const uint8_t mac[6], const char *name,
			 int family, struct addr *addr)
{
	struct static_host want = { mac, name, family, addr, false };

	return each_node(network_xml, "/network/ip/dhcp/host", match_host, &want) && want.found;
}

/* An address of `family` that `source` reports for the interface with `mac`. */
static bool reported(virDomainPtr dom, unsigned source, const uint8_t mac[6], int family,
		     struct addr *addr)
{
	virDomainInterfacePtr *ifaces = NULL;
	int n = lib.virDomainInterfaceAddresses(dom, &ifaces, source, 0);
	char want[18];
	bool found = false;

	format_mac(mac, want);
	for (int i = 0; i < n; i++) {
		for (unsigned j = 0; !found && ifaces[i]->hwaddr &&
				     !strcasecmp(ifaces[i]->hwaddr, want) && j < ifaces[i]->naddrs; j++) {
			const virDomainIPAddress *a = &ifaces[i]->addrs[j];

			found = (a->type == VIR_IP_ADDR_TYPE_IPV4) == (family == AF_INET) && a->addr &&
				!parse_addr(a->addr, addr) && !check_guest_addr(addr);
		}
		lib.virDomainInterfaceFree(ifaces[i]);
	}
	free(ifaces);
	return found;
}

/* The static DHCP host for the interface on its libvirt network. */
static bool static_host(virConnectPtr conn, const struct vm_interface *i, const char *domain,
			int family, struct addr *addr)
{
	virNetworkPtr net = i->network[0] ? lib.virNetworkLookupByName(conn, i->network) : NULL;
	char *xml = net ? lib.virNetworkGetXMLDesc(net, 0) : NULL;
	bool found = xml && libvirt_static_host(xml, i->mac, domain, family, addr);

	free(xml);
	if (net)
		lib.virNetworkFree(net);
	return found;
}

/* Does `i` match what the forward picks (network or MAC; nothing: every interface)? */
static bool picked(const struct vm_target *vm, const struct vm_interface *i)
{
	return vm->by_mac ? !memcmp(vm->mac, i->mac, 6)
			  : !vm->network[0] || !strcmp(vm->network, i->network);
}

static void lookup_domain(struct libvirt *lv, virDomainPtr dom, const struct forward *f,
			  struct vm_answer *answer)
{
	static const struct {
		unsigned source;
		enum guest_source is;
	} sources[] = { { VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE, GUEST_LEASE },
			{ VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP, GUEST_ARP } };
	struct vm_interface ifaces[INTERFACES_MAX];
	char *xml = lib.virDomainGetXMLDesc(dom, 0);
	size_t n = xml ? libvirt_domain_interfaces(xml, ifaces, INTERFACES_MAX) : 0, matching = 0;
	const char *family = f->guest.family == AF_INET ? "IPv4" : "IPv6";

	free(xml);
	answer->found = VM_WAITING;
	/* lease first, on every picked interface; then static hosts; then ARP */
	for (int round = 0; round < 3 && answer->found != VM_FOUND; round++) {
		for (size_t i = 0; i < n && answer->found != VM_FOUND; i++) {
			if (!picked(&f->vm, &ifaces[i]))
				continue;
			matching += round == 0;
			if (round == 1 ? static_host(lv->conn, &ifaces[i], f->vm.domain,
						     f->guest.family, &answer->addr)
				       : reported(dom, sources[round / 2].source, ifaces[i].mac,
						  f->guest.family, &answer->addr)) {
				answer->found = VM_FOUND;
				answer->source = round == 1 ? GUEST_STATIC : sources[round / 2].is;
			}
		}
	}
	if (answer->found == VM_FOUND)
		return;
	if (!matching && f->vm.by_mac) {
		char mac[18];

		format_mac(f->vm.mac, mac);
		snprintf(answer->why, sizeof(answer->why), "domain %s has no interface with MAC %s",
			 f->vm.domain, mac);
	} else if (!matching && f->vm.network[0]) {
		snprintf(answer->why, sizeof(answer->why), "domain %s has no interface on libvirt "
			 "network %s", f->vm.domain, f->vm.network);
	} else {
		answer->found = VM_UNSURE;
		snprintf(answer->why, sizeof(answer->why), "domain %s has no %s address yet (no DHCP "
			 "lease, no static DHCP host, not in the ARP table)", f->vm.domain, family);
	}
}

static void lookup(void *ctx, const struct forward *f, struct vm_answer *answer)
{
	struct libvirt *lv = ctx;
	virDomainPtr dom;
	int active;

	*answer = (struct vm_answer){ .found = VM_UNSURE };
	if (!lv->conn) {
		snprintf(answer->why, sizeof(answer->why), "%s", lv->why);
		return;
	}
	dom = lib.virDomainLookupByName(lv->conn, f->vm.domain);
	if (!dom) {
		virErrorPtr e = lib.virGetLastError();

		if (e && e->code == VIR_ERR_NO_DOMAIN) {
			answer->found = VM_UNKNOWN;
			snprintf(answer->why, sizeof(answer->why), "is no domain of %.100s; see 'virsh "
				 "list --all'", lv->uri);
		} else {
			snprintf(answer->why, sizeof(answer->why), "cannot look up domain %s: %.100s",
				 f->vm.domain, last_error());
		}
		return;
	}
	active = lib.virDomainIsActive(dom);
	if (active == 1) {
		lookup_domain(lv, dom, f, answer);
	} else if (active == 0) {
		answer->found = VM_WAITING;
		snprintf(answer->why, sizeof(answer->why), "domain %s is not running (virsh start %s)",
			 f->vm.domain, f->vm.domain);
	} else {
		snprintf(answer->why, sizeof(answer->why), "cannot tell whether domain %s runs: %.100s",
			 f->vm.domain, last_error());
	}
	lib.virDomainFree(dom);
}


/* ------------------------------------------------------------ following libvirt */

struct libvirt_follow {
	char uri[256];
	int wake[2];          /* the thread writes, the watcher polls and reads */
	int inotify;          /* LIBVIRT_LEASE_DIR; -1 when it cannot be watched */
	int inotify_watch;    /* its handle in libvirt's event loop; -1: none */
	int tick;             /* the reconnect timer's id; -1: none */
	virConnectPtr conn;   /* the thread's own; NULL while not connected */
	int callback;         /* the lifecycle callback's id */
	volatile int stopping;
	bool closed;          /* the connection closed under us: make it again */
	pthread_t thread;
};

static void wake(struct libvirt_follow *f)
{
	if (write(f->wake[1], "", 1) < 0) {
		/* the pipe is full: the watcher is woken anyway */
	}
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
	(void)conn, (void)dom, (void)event, (void)detail;
	wake(opaque);
	return 0;
}

static void on_close(virConnectPtr conn, int reason, void *opaque)
{
	struct libvirt_follow *f = opaque;

	(void)conn, (void)reason;
	f->closed = true;
	wake(f);
}

static void on_lease_dir(int watch, int fd, int events, void *opaque)
{
	char buf[4096];

	(void)watch, (void)events;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	wake(opaque);
}

static void disconnect(struct libvirt_follow *f)
{
	if (!f->conn)
		return;
	lib.virConnectDomainEventDeregisterAny(f->conn, f->callback);
	lib.virConnectUnregisterCloseCallback(f->conn, on_close);
	lib.virConnectClose(f->conn);
	f->conn = NULL;
}

/* (Re)connect and subscribe; an event of its own, since anything may have changed. */
static void connect_follow(struct libvirt_follow *f)
{
	f->closed = false;
	f->conn = lib.virConnectOpenReadOnly(f->uri);
	if (!f->conn)
		return;
	f->callback = lib.virConnectDomainEventRegisterAny(f->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
						       VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), f,
						       NULL);
	if (f->callback < 0 || lib.virConnectRegisterCloseCallback(f->conn, on_close, f, NULL) < 0) {
		lib.virConnectClose(f->conn);
		f->conn = NULL;
		return;
	}
	wake(f);
}

static void on_tick(int timer, void *opaque)
{
	struct libvirt_follow *f = opaque;

	(void)timer;
	if (f->closed)
		disconnect(f);
	if (!f->conn && !f->stopping)
		connect_follow(f);
}

static void *run_events(void *arg)
{
	struct libvirt_follow *f = arg;

	connect_follow(f);
	while (!f->stopping)
		if (lib.virEventRunDefaultImpl() < 0)
			break;
	disconnect(f);
	return NULL;
}

enum exit_code libvirt_follow_start(const char *uri, struct libvirt_follow **out,
				    struct error *err)
{
	struct libvirt_follow *f = calloc(1, sizeof(*f));
	const char *missing;
	sigset_t all, old;
	int rc = 0;

	*out = NULL;
	if (!f)
		return error_set(err, "out of memory"), EXIT_SYSTEM;
	if ((missing = lib_missing())) {
		free(f);
		return error_set(err, "cannot follow libvirt: %s", missing), EXIT_SYSTEM;
	}
	snprintf(f->uri, sizeof(f->uri), "%s", uri);
	f->inotify = f->inotify_watch = f->tick = -1;
	lib.virSetErrorFunc(NULL, quiet);
	if (pipe2(f->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		free(f);
		return error_set(err, "cannot follow libvirt: %s", strerror(errno)), EXIT_SYSTEM;
	}
	if (lib.virEventRegisterDefaultImpl() < 0) {
		rc = -1;
	} else {
		/* the thread takes no signal: the watcher's handlers run in the main thread */
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		rc = pthread_create(&f->thread, NULL, run_events, f);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (rc != 0) {
		close(f->wake[0]);
		close(f->wake[1]);
		free(f);
		return error_set(err, "cannot follow libvirt: %s",
				 rc > 0 ? strerror(rc) : "no event loop"), EXIT_SYSTEM;
	}
	/* libvirt's event loop takes these from any thread */
	f->inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (f->inotify >= 0 && inotify_add_watch(f->inotify, LIBVIRT_LEASE_DIR,
						 IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE) >= 0)
		f->inotify_watch = lib.virEventAddHandle(f->inotify, VIR_EVENT_HANDLE_READABLE,
						     on_lease_dir, f, NULL);
	f->tick = lib.virEventAddTimeout(LIBVIRT_RECONNECT_S * 1000, on_tick, f, NULL);
	*out = f;
	return EXIT_OK;
}

/* Fires at once (a timeout of 0), so that the loop's poll returns and sees `stopping`. */
static void on_stop(int timer, void *opaque)
{
	(void)opaque;
	lib.virEventRemoveTimeout(timer);
}

void libvirt_follow_stop(struct libvirt_follow *f)
{
	if (!f)
		return;
	f->stopping = 1;
	/* nothing of the loop may point at f once it is freed (a later follower runs it) */
	if (f->inotify_watch >= 0)
		lib.virEventRemoveHandle(f->inotify_watch);
	if (f->tick >= 0)
		lib.virEventRemoveTimeout(f->tick);
	lib.virEventAddTimeout(0, on_stop, NULL, NULL);
	pthread_join(f->thread, NULL);
	close(f->wake[0]);
	close(f->wake[1]);
	if (f->inotify >= 0)
		close(f->inotify);
	free(f);
}

#else /* built without libvirt */

struct libvirt {
	char unused;
};

struct libvirt *libvirt_open(const char *uri)
{
	(void)uri;
	return calloc(1, sizeof(struct libvirt));
}

void libvirt_close(struct libvirt *lv)
{
	free(lv);
}

static void lookup(void *ctx, const struct forward *f, struct vm_answer *answer)
{
	(void)ctx, (void)f;
	*answer = (struct vm_answer){ .found = VM_UNKNOWN };
	snprintf(answer->why, sizeof(answer->why), "cannot be looked up: this nft-portfwd was built "
		 "without libvirt (build with libvirt-dev installed, meson -Dlibvirt=enabled), so "
		 "give the guest's address instead");
}

size_t libvirt_domain_interfaces(const char *xml, struct vm_interface *out, size_t max)
{
	(void)xml, (void)out, (void)max;
	return 0;
}

bool libvirt_static_host(const char *network_xml, const uint8_t mac[6], const char *name,
			 int family, struct addr *addr)
{
	(void)network_xml, (void)mac, (void)name, (void)family, (void)addr;
	return false;
}

struct libvirt_follow {
	int wake[2]; /* never made: libvirt_follow_start refuses */
};

enum exit_code libvirt_follow_start(const char *uri, struct libvirt_follow **f,
				    struct error *err)
{
	(void)uri, (void)f;
	return error_set(err, "this nft-portfwd was built without libvirt"), EXIT_SYSTEM;
}

void libvirt_follow_stop(struct libvirt_follow *f)
{
	(void)f;
}

#endif

int libvirt_follow_fd(const struct libvirt_follow *f)
{
	return f->wake[0];
}

bool libvirt_follow_take(struct libvirt_follow *f)
{
	char buf[64];
	bool any = false;

	while (read(f->wake[0], buf, sizeof(buf)) > 0)
		any = true;
	return any;
}

struct vm_resolver libvirt_resolver(struct libvirt *lv)
{
	return (struct vm_resolver){ .ctx = lv, .lookup = lookup };
}
