/*
 * replay_cmd.c - porthole audit replay ID [--speed N] [DIR] and
 * porthole audit export ID [DIR]: a support shell's recording, checked
 * against the audit log before a byte of it is shown.
 *
 * A replay goes to the auditor's terminal through lib/termfilter.h: the
 * shell's own screen sequences pass, anything that would act on the
 * terminal itself (a window title, the clipboard, device control, a
 * report request) is left out and counted.  An export is a file for
 * asciinema and other tools, not a view: it is the recording, byte for
 * byte, as its SHA-256 in the audit log says.
 *
 * Viewing a recording is itself an audited act.  On the gateway's own
 * log (no DIR) the running gateway writes the recording_viewed event
 * first, and if it cannot, nothing is shown.  A DIR names a copy (an
 * auditor's machine): there is no live log to write to, and the tool
 * says so.
 *
 * porthole watch ID shows a running support shell live, read-only: the
 * gateway hands over the recording open at its end (and the shell
 * redraws its screen for the watcher), and it is read here as it grows,
 * through the same filter, until ^C or the session's end.
 */
#include "cli/replay_cmd.h"

#include <sys/stat.h>
#include <errno.h>
#include <signal.h>
#include <termios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "audit/audit.h"
#include "audit/recording.h"
#include "cli/audit_dir.h"
#include "cli/control_cmd.h"
#include "lib/control_proto.h"
#include "lib/ident.h"
#include "lib/termfilter.h"
#include "policy/policy.h"

#define REPLAY_MAX_GAP	2.0	/* seconds: longer pauses are shortened */
#define REPLAY_LINE_MAX	(1024 * 1024)

const char cli_watch_usage[] = "porthole watch ID\n";

static int
usage(void)
{
	fprintf(stderr, "usage: porthole audit replay ID [--speed N] [DIR]\n"
	    "       porthole audit export ID [DIR]\n");
	return 2;
}

/*
 * Is dir the running gateway's own audit_dir, named by a path?  Then
 * the viewing must be on record as if no DIR were given.  A machine
 * without the configuration holds a copy.
 */
static int
is_live_dir(const char *dir, const char *conf)
{
	struct policy	*pol = NULL;
	struct stat	 a, b;
	char		 err[1024];
	int		 live;

	if (policy_load(conf, &pol, err, sizeof(err)) == -1)
		return 0;
	live = stat(dir, &a) == 0 && stat(pol->audit_dir, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino;
	policy_free(pol);
	return live;
}

/* Put the viewing on record, or refuse. */
static int
record_view(const char *conf, const char *session, const char *action)
{
	json_t	*ans;
	int	 ok;

	ans = control_call(conf, CONTROL_RECORDING_VIEWED, json_pack(
	    "{s:s, s:s}", "id", session, "action", action));
	if (ans == NULL) {
		fprintf(stderr, "porthole: audit %s: the gateway must record "
		    "this viewing and cannot be reached; nothing shown\n",
		    action);
		return -1;
	}
	ok = json_is_true(json_object_get(ans, "ok"));
	if (!ok)
		fprintf(stderr, "porthole: audit %s: %s; nothing shown\n",
		    action, json_string_value(json_object_get(ans, "error")));
	json_decref(ans);
	return ok ? 0 : -1;
}

static int
export_file(const char *path)
{
	char	buf[65536];
	size_t	n;
	FILE	*fp;

	if ((fp = fopen(path, "re")) == NULL) {
		fprintf(stderr, "porthole: %s: %s\n", path, strerror(errno));
		return 1;
	}
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		if (fwrite(buf, 1, n, stdout) != n)
			break;
	fclose(fp);
	return fflush(stdout) == 0 ? 0 : 1;
}

static void
pause_for(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* One output event's text, through the filter, to the terminal. */
static int
replay_output(struct termfilter *tf, json_t *text)
{
	size_t	 len = json_string_length(text);
	char	*out;

	if ((out = malloc(len + TERMFILTER_SLACK)) == NULL) {
		fprintf(stderr, "porthole: audit replay: out of memory\n");
		return -1;
	}
	len = termfilter_feed(tf, json_string_value(text), len, out);
	fwrite(out, 1, len, stdout);
	fflush(stdout);
	free(out);
	return 0;
}

/* One line of a recording after its header: [time, code, text], or NULL. */
static json_t *
cast_event(const char *line, size_t n)
{
	json_t *ev = json_loadb(line, n, 0, NULL);

	if (!json_is_array(ev) || json_array_size(ev) != 3 ||
	    !json_is_number(json_array_get(ev, 0)) ||
	    !json_is_string(json_array_get(ev, 1)) ||
	    !json_is_string(json_array_get(ev, 2))) {
		json_decref(ev);
		return NULL;
	}
	return ev;
}

/* Play the output events with their timing, divided by speed. */
static int
replay_file(const char *path, double speed)
{
	struct termfilter	 tf;
	FILE			*fp;
	char			*line = NULL;
	size_t			 cap = 0;
	ssize_t			 n;
	json_t			*ev;
	double			 t, last = 0;
	long			 lineno = 0;
	int			 rc = 0;

	if ((fp = fopen(path, "re")) == NULL) {
		fprintf(stderr, "porthole: %s: %s\n", path, strerror(errno));
		return 1;
	}
	termfilter_init(&tf);
	while ((n = getline(&line, &cap, fp)) > 0) {
		if (++lineno == 1)
			continue;	/* the header */
		/*
		 * The gateway writes no event this long.  Skipping it would
		 * show the auditor a session with a hole and no word of it.
		 */
		if (n > REPLAY_LINE_MAX) {
			fprintf(stderr, "porthole: %s:%ld: an event longer than "
			    "1 MiB (%zd bytes); replay stops here (porthole "
			    "audit export gives the whole file)\n", path,
			    lineno, n);
			rc = 1;
			break;
		}
		if ((ev = cast_event(line, (size_t)n)) == NULL) {
			fprintf(stderr, "porthole: %s:%ld: not an asciicast "
			    "event\n", path, lineno);
			rc = 1;
			break;
		}
		t = json_number_value(json_array_get(ev, 0));
		if (t - last > REPLAY_MAX_GAP)
			last = t - REPLAY_MAX_GAP;
		pause_for((t - last) / speed);
		last = t;
		if (strcmp(json_string_value(json_array_get(ev, 1)), "o") == 0 &&
		    replay_output(&tf, json_array_get(ev, 2)) == -1) {
			json_decref(ev);
			rc = 1;
			break;
		}
		json_decref(ev);
	}
	free(line);
	fclose(fp);
	if (tf.dropped > 0)
		fprintf(stderr, "\nporthole: audit replay: %llu control "
		    "sequence%s that would act on this terminal itself (a "
		    "title, the clipboard, device control, a report) left "
		    "out\n", (unsigned long long)tf.dropped,
		    tf.dropped == 1 ? "" : "s");
	return rc;
}

int
cli_audit_recording(int argc, char **argv, const char *conf)
{
	struct recording_ref	 ref;
	const char		*action = argv[0], *session, *dir = NULL;
	char			 adir[4096], path[4300], why[600];
	double			 speed = 1.0;
	int			 export = strcmp(action, "export") == 0, i;

	if (argc < 2)
		return usage();
	session = argv[1];
	for (i = 2; i < argc; i++) {
		if (!export && strcmp(argv[i], "--speed") == 0 &&
		    i + 1 < argc) {
			char *end;

			speed = strtod(argv[++i], &end);
			if (*end != '\0' || !(speed > 0 && speed <= 1000)) {
				fprintf(stderr, "porthole: --speed: expected a "
				    "number from 0 to 1000, got '%s'\n",
				    argv[i]);
				return 2;
			}
		} else if (dir == NULL && argv[i][0] != '-')
			dir = argv[i];
		else
			return usage();
	}
	if (cli_audit_dir(dir, conf, adir, sizeof(adir)) == -1)
		return 1;
	if (recording_find(adir, session, &ref, why, sizeof(why)) != 0 ||
	    recording_check(adir, &ref, why, sizeof(why)) != 0) {
		fprintf(stderr, "porthole: audit %s: %s\n", action, why);
		return 1;
	}
	if (dir != NULL && is_live_dir(dir, conf))
		dir = NULL;	/* the live log, by another name */
	if (dir == NULL && record_view(conf, session, action) == -1)
		return 1;
	if (dir != NULL)
		fprintf(stderr, "porthole: %s is a copy: this viewing is not "
		    "in the gateway's audit log\n", adir);
	snprintf(path, sizeof(path), "%s/%s/%s", adir, RECORDING_DIR,
	    ref.name);
	return export ? export_file(path) : replay_file(path, speed);
}

/* ---- porthole watch ---- */

#define WATCH_POLL_MS		100	/* the recording is read this often */
#define WATCH_CHECK_MS		1000	/* is the session still there? */

static volatile sig_atomic_t watch_leave;

static void
watch_signal(int sig)
{
	(void)sig;
	watch_leave = 1;
}

/* Does session id still run?  1 or 0; -1 when the gateway is gone. */
static int
watch_session_runs(const char *conf, const char *id)
{
	json_t		*ans, *s;
	size_t		 i;
	int		 runs = 0;

	if ((ans = control_call(conf, CONTROL_SESSIONS, json_object())) ==
	    NULL)
		return -1;
	json_array_foreach(json_object_get(ans, "sessions"), i, s)
		if (json_is_string(json_object_get(s, "id")) &&
		    strcmp(json_string_value(json_object_get(s, "id")), id) ==
		    0)
			runs = 1;
	json_decref(ans);
	return runs;
}

/*
 * The complete lines in buf[0..*have): their output events shown; what
 * is left of an incomplete line moved to the front.  0, or -1 after
 * saying why.
 */
static int
watch_lines(struct termfilter *tf, char *buf, size_t *have)
{
	char	*p = buf, *nl;
	json_t	*ev;
	int	 rc = 0;

	while (rc == 0 && (nl = memchr(p, '\n', *have - (size_t)(p - buf))) !=
	    NULL) {
		if ((ev = cast_event(p, (size_t)(nl - p))) == NULL) {
			fprintf(stderr, "\r\nporthole: watch: the recording "
			    "holds something that is not an asciicast event\n");
			rc = -1;
		} else if (strcmp(json_string_value(json_array_get(ev, 1)),
		    "o") == 0)
			rc = replay_output(tf, json_array_get(ev, 2));
		json_decref(ev);
		p = nl + 1;
	}
	*have -= (size_t)(p - buf);
	memmove(buf, p, *have);
	return rc;
}

/* Follow the recording on fd until ^C or the session's end. */
static int
watch_follow(const char *conf, const char *id, int fd)
{
	struct termfilter	 tf;
	struct timespec		 ts = { 0, WATCH_POLL_MS * 1000000L };
	char			*buf;
	size_t			 have = 0;
	ssize_t			 n;
	int			 idle = 0, rc = 0, runs;

	if ((buf = malloc(REPLAY_LINE_MAX)) == NULL) {
		fprintf(stderr, "porthole: watch: out of memory\n");
		return 1;
	}
	termfilter_init(&tf);
	while (!watch_leave) {
		n = read(fd, buf + have, REPLAY_LINE_MAX - have);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			fprintf(stderr, "\r\nporthole: watch: the recording: "
			    "%s\n", strerror(errno));
			rc = 1;
			break;
		}
		if (n > 0) {
			have += (size_t)n;
			idle = 0;
			if (watch_lines(&tf, buf, &have) == -1 ||
			    have == REPLAY_LINE_MAX) {
				rc = 1;
				break;
			}
			continue;
		}
		/* Nothing new: still running? */
		if (++idle * WATCH_POLL_MS >= WATCH_CHECK_MS) {
			idle = 0;
			if ((runs = watch_session_runs(conf, id)) != 1) {
				printf("\r\nporthole: session %s ended\r\n", id);
				rc = runs == -1;
				break;
			}
		}
		(void)nanosleep(&ts, NULL);
	}
	free(buf);
	return rc;
}

int
cli_watch(int argc, char **argv, const char *conf)
{
	struct sigaction	 sa;
	struct termios		 saved, quiet;
	json_t			*ans;
	int			 fd = -1, rc, tty;

	if (argc != 2 || !ident_valid(argv[1], CONTROL_ID_MAX, IDENT_HEX)) {
		fprintf(stderr, "usage: %s", cli_watch_usage);
		return 2;
	}
	if ((ans = control_call_fd(conf, CONTROL_WATCH, json_pack("{s:s}",
	    "id", argv[1]), &fd)) == NULL)
		return 1;
	if (!json_is_true(json_object_get(ans, "ok")) || fd == -1) {
		fprintf(stderr, "porthole: watch: %s\n", json_is_string(
		    json_object_get(ans, "error")) ? json_string_value(
		    json_object_get(ans, "error")) : "no recording came");
		json_decref(ans);
		if (fd != -1)
			close(fd);
		return 1;
	}
	json_decref(ans);
	/* ^C leaves the watch, on record; the session goes on. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = watch_signal;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
	/*
	 * Read-only: keys typed here are not echoed as if they went
	 * somewhere (^C still leaves).
	 */
	if ((tty = tcgetattr(STDIN_FILENO, &saved) == 0)) {
		quiet = saved;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ICANON);
		(void)tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
	}
	fprintf(stderr, "porthole: watching session %s, read-only; ^C "
	    "leaves\r\n", argv[1]);
	rc = watch_follow(conf, argv[1], fd);
	close(fd);
	if (tty) {
		(void)tcflush(STDIN_FILENO, TCIFLUSH);
		(void)tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	}
	if (watch_leave) {
		printf("\r\nporthole: left the watch of session %s\r\n",
		    argv[1]);
		if ((ans = control_call(conf, CONTROL_WATCH_END, json_pack(
		    "{s:s}", "id", argv[1]))) != NULL)
			json_decref(ans);
	}
	fflush(stdout);
	return rc;
}
