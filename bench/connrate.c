/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * connrate ADDR PORT SECONDS [STOPFILE]: open TCP connections to ADDR:PORT one after another
 * for SECONDS (or until STOPFILE exists) and print how many succeeded per second. Each connection is closed with a reset
 * (SO_LINGER 0) so neither end keeps a TIME_WAIT socket and ports never run out; conntrack
 * then deletes the closed entry when the port is used again, so every connection is a new
 * conntrack entry that walks the NAT chains.
 * Output: "CONNS connections, FAILS failed, SECS s, RATE conn/s".
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct linger reset = { .l_onoff = 1, .l_linger = 0 };
	struct timeval timeout = { .tv_sec = 1 };
	long ok = 0, failed = 0;
	double start, end, seconds;

	const char *stopfile = argc == 5 ? argv[4] : NULL;
	struct stat st;

	if ((argc != 4 && argc != 5) || inet_pton(AF_INET, argv[1], &to.sin_addr) != 1 ||
	    (to.sin_port = htons((uint16_t)atoi(argv[2]))) == 0 || (seconds = atof(argv[3])) <= 0) {
		fprintf(stderr, "usage: connrate IPV4-ADDR PORT SECONDS [STOPFILE]\n");
		return 2;
	}
	start = now();
	end = start + seconds;
	while (now() < end) {
		int fd;

		/* a stat every 256 connections costs nothing next to them */
		if (stopfile && (ok + failed) % 256 == 0 && stat(stopfile, &st) == 0)
			break;
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0) {
			perror("connrate: socket");
			return 1;
		}
		/* a lost SYN must not stall the loop for the default minutes */
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
		if (connect(fd, (struct sockaddr *)&to, sizeof(to)) == 0)
			ok++;
		else
			failed++;
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
		close(fd);
	}
	seconds = now() - start;
	printf("%ld connections, %ld failed, %.3f s, %.0f conn/s\n", ok, failed, seconds,
	       (double)ok / seconds);
	return ok > 0 ? 0 : 1;
}
