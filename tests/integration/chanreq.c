/*
 * chanreq.c - an SSH client (libssh) that asks for what stock ssh asks
 * for once, many times on one session channel: X11 forwarding, agent
 * forwarding (with want-reply, unlike OpenSSH's ssh) and environment
 * variables, then runs a command.  For certperm.sh: a client may repeat
 * a request, and the audit log must not grow by a line for each.
 *
 * usage: chanreq HOST PORT KEY CERT COMMAND
 * Prints what each request was answered ("x11 failure", "agent
 * success", ...), then the command's output.  Exit 0 when the command
 * ran, 1 otherwise.  The host key is not checked: this is a test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libssh/libssh.h>

#define REPEAT	5

static const char *
said(int rc)
{
	return rc == SSH_OK ? "success" : "failure";
}

int
main(int argc, char **argv)
{
	ssh_session	 s;
	ssh_channel	 ch;
	ssh_key		 key = NULL, cert = NULL;
	char		 buf[4096];
	unsigned int	 port;
	int		 i, n, no = 0;

	if (argc != 6) {
		fprintf(stderr, "usage: chanreq HOST PORT KEY CERT COMMAND\n");
		return 2;
	}
	port = (unsigned int)strtoul(argv[2], NULL, 10);
	if ((s = ssh_new()) == NULL ||
	    ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &no) < 0 ||
	    ssh_options_set(s, SSH_OPTIONS_HOST, argv[1]) < 0 ||
	    ssh_options_set(s, SSH_OPTIONS_PORT, &port) < 0 ||
	    ssh_options_set(s, SSH_OPTIONS_USER, "support") < 0 ||
	    ssh_connect(s) != SSH_OK) {
		fprintf(stderr, "chanreq: connect: %s\n", ssh_get_error(s));
		return 1;
	}
	if (ssh_pki_import_privkey_file(argv[3], NULL, NULL, NULL,
	    &key) != SSH_OK ||
	    ssh_pki_import_cert_file(argv[4], &cert) != SSH_OK ||
	    ssh_pki_copy_cert_to_privkey(cert, key) != SSH_OK ||
	    ssh_userauth_publickey(s, NULL, key) != SSH_AUTH_SUCCESS) {
		fprintf(stderr, "chanreq: login: %s\n", ssh_get_error(s));
		return 1;
	}
	if ((ch = ssh_channel_new(s)) == NULL ||
	    ssh_channel_open_session(ch) != SSH_OK) {
		fprintf(stderr, "chanreq: channel: %s\n", ssh_get_error(s));
		return 1;
	}
	for (i = 0; i < REPEAT; i++)
		printf("x11 %s\n", said(ssh_channel_request_x11(ch, 0,
		    "MIT-MAGIC-COOKIE-1", "0123456789abcdef", 0)));
	for (i = 0; i < REPEAT; i++)
		printf("agent %s\n", said(ssh_channel_request_auth_agent(ch)));
	for (i = 0; i < REPEAT; i++) {
		char name[16];

		snprintf(name, sizeof(name), "VAR%d", i);
		printf("env %s\n", said(ssh_channel_request_env(ch, name,
		    "secret")));
	}
	if (ssh_channel_request_exec(ch, argv[5]) != SSH_OK) {
		fprintf(stderr, "chanreq: exec: %s\n", ssh_get_error(s));
		return 1;
	}
	while ((n = ssh_channel_read(ch, buf, sizeof(buf), 0)) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	ssh_channel_send_eof(ch);
	ssh_channel_close(ch);
	ssh_channel_free(ch);
	ssh_disconnect(s);
	ssh_free(s);
	ssh_key_free(key);
	ssh_key_free(cert);
	return 0;
}
