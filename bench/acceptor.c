/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * acceptor PORT...: listen on every IPv4 address at each PORT, accept connections and
 * close them at once. On SIGTERM or SIGINT, print the number accepted and exit. Writes
 * "ready" to stdout once every port is listening.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_PORTS 16

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct pollfd fds[MAX_PORTS];
	struct sigaction sa = { .sa_handler = on_signal };
	long accepted = 0;
	int n = 0, one = 1;

	if (argc < 2 || argc - 1 > MAX_PORTS) {
		fprintf(stderr, "usage: acceptor PORT... (at most %d)\n", MAX_PORTS);
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	for (int i = 1; i < argc; i++, n++) {
		struct sockaddr_in at = { .sin_family = AF_INET,
					  .sin_port = htons((uint16_t)atoi(argv[i])) };
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    bind(fd, (struct sockaddr *)&at, sizeof(at)) < 0 || listen(fd, 4096) < 0) {
			perror("acceptor: listen");
			return 1;
		}
		fds[n] = (struct pollfd){ .fd = fd, .events = POLLIN };
	}
	printf("ready\n");
	fflush(stdout);
	while (!stop) {
		if (poll(fds, (nfds_t)n, 200) < 0 && errno != EINTR) {
			perror("acceptor: poll");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			int c;

			while ((c = accept4(fds[i].fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
				accepted++;
				close(c);
			}
		}
	}
	printf("%ld accepted\n", accepted);
	return 0;
}
