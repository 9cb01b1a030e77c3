/*
 * loadgen.c - open N idle SSH tunnels from one process (benchmark only).
 *
 *   loadgen porthole HOST PORT N KEYDIR PREFIX
 *	logs in to porthole-relay as clusters PREFIX000 .. PREFIX(N-1), each
 *	with KEYDIR/PREFIXnnn/PREFIXnnn.key (the layout
 *	porthole-make-cluster-key writes), the way portholed's tunnel client
 *	does.
 *   loadgen openssh HOST PORT N KEYFILE USER
 *	logs in to an sshd N times as USER with KEYFILE and asks each
 *	connection for a reverse forward (tcpip-forward 127.0.0.1:0), the
 *	way `ssh -N -R` does.
 *
 * Prints "ready N" on stdout once all tunnels are up, then keeps them open,
 * answering whatever the server sends, until SIGTERM or SIGINT.
 * Not built by `make`; tests/bench/bench.sh compiles it.
 */
#include <libssh/libssh.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int
main(int argc, char **argv)
{
	ssh_session	*s;
	ssh_event	 ev;
	ssh_key		 key = NULL;
	char		 user[128], path[4096];
	int		 n, i, port, openssh, no = 0;
	long		 timeout = 30;

	if (argc != 7) {
		fprintf(stderr, "usage: loadgen porthole|openssh HOST PORT N "
		    "KEYDIR|KEYFILE PREFIX|USER\n");
		return 2;
	}
	openssh = strcmp(argv[1], "openssh") == 0;
	port = atoi(argv[3]);
	n = atoi(argv[4]);
	if (n <= 0 || (s = calloc(n, sizeof(*s))) == NULL)
		return 2;
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	ssh_init();
	if (openssh && ssh_pki_import_privkey_file(argv[5], NULL, NULL, NULL,
	    &key) != SSH_OK) {
		fprintf(stderr, "loadgen: cannot read %s\n", argv[5]);
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (openssh)
			snprintf(user, sizeof(user), "%s", argv[6]);
		else {
			snprintf(user, sizeof(user), "%s%03d", argv[6], i);
			snprintf(path, sizeof(path), "%s/%s/%s.key", argv[5],
			    user, user);
			ssh_key_free(key);
			key = NULL;
			if (ssh_pki_import_privkey_file(path, NULL, NULL, NULL,
			    &key) != SSH_OK) {
				fprintf(stderr, "loadgen: cannot read %s\n",
				    path);
				return 1;
			}
		}
		if ((s[i] = ssh_new()) == NULL ||
		    ssh_options_set(s[i], SSH_OPTIONS_PROCESS_CONFIG, &no) < 0 ||
		    ssh_options_set(s[i], SSH_OPTIONS_HOST, argv[2]) < 0 ||
		    ssh_options_set(s[i], SSH_OPTIONS_PORT, &port) < 0 ||
		    ssh_options_set(s[i], SSH_OPTIONS_USER, user) < 0 ||
		    ssh_options_set(s[i], SSH_OPTIONS_TIMEOUT, &timeout) < 0 ||
		    ssh_options_set(s[i], SSH_OPTIONS_KEY_EXCHANGE,
		    "curve25519-sha256") < 0 ||
		    ssh_options_set(s[i], SSH_OPTIONS_CIPHERS_C_S,
		    "chacha20-poly1305@openssh.com") < 0 ||
		    ssh_options_set(s[i], SSH_OPTIONS_CIPHERS_S_C,
		    "chacha20-poly1305@openssh.com") < 0 ||
		    ssh_options_set(s[i], SSH_OPTIONS_HOSTKEYS,
		    "ssh-ed25519") < 0) {
			fprintf(stderr, "loadgen: options failed\n");
			return 1;
		}
		if (ssh_connect(s[i]) != SSH_OK) {
			fprintf(stderr, "loadgen: connect %d: %s\n", i,
			    ssh_get_error(s[i]));
			return 1;
		}
		/* Loopback benchmark against keys we just made: no pinning. */
		if (ssh_userauth_publickey(s[i], NULL, key) !=
		    SSH_AUTH_SUCCESS) {
			fprintf(stderr, "loadgen: login %d as %s: %s\n", i,
			    user, ssh_get_error(s[i]));
			return 1;
		}
		if (openssh) {
			int bound = 0;

			if (ssh_channel_listen_forward(s[i], "127.0.0.1", 0,
			    &bound) != SSH_OK) {
				fprintf(stderr, "loadgen: forward %d: %s\n", i,
				    ssh_get_error(s[i]));
				return 1;
			}
		}
	}
	ssh_key_free(key);
	if ((ev = ssh_event_new()) == NULL)
		return 1;
	for (i = 0; i < n; i++) {
		ssh_set_blocking(s[i], 0);
		ssh_event_add_session(ev, s[i]);
	}
	printf("ready %d\n", n);
	fflush(stdout);
	while (!stop)
		ssh_event_dopoll(ev, 500);
	for (i = 0; i < n; i++) {
		ssh_event_remove_session(ev, s[i]);
		ssh_disconnect(s[i]);
		ssh_free(s[i]);
	}
	ssh_event_free(ev);
	free(s);
	return 0;
}
