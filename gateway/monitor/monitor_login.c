/*
 * monitor_login.c - the monitor's answers for a login: may this
 * certificate log in, a slot among max_sessions, and the customer's
 * approval when the policy asks for it.
 */
#include "gateway/monitor/monitor_int.h"

#include <sys/socket.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/session/session.h"
#include "lib/clock.h"
#include "lib/krl.h"
#include "lib/parse.h"
#include "lib/sshcert.h"

#define MON_MAX_AUTH_REQUESTS	20
#define MON_CERT_MAX		12000	/* base64 of SSHCERT_MAX_BLOB */
#define MON_CLAIMED_MAX		64	/* bytes of a claimed key id, principal */
#define MON_CLAIMED_NAMES	4	/* claimed principals recorded */

/* How far a refused certificate was read: what its record may say. */
enum mon_cert_read {
	MON_CERT_UNREAD,	/* not a certificate, or not one we can parse */
	MON_CERT_CLAIMED,	/* parsed, but not signed by the vendor CA */
	MON_CERT_SIGNED		/* signed by the vendor CA: its fields are facts */
};

static int	mon_logged_in(struct mon *);


/*
 * Would this certificate, for this user, be let in now?  *read says how
 * far cert could be read (for the record of a refusal).
 */
static int
mon_check_login(struct mon *m, const char *user, const char *key_type,
    const char *b64, struct sshcert *cert, enum mon_cert_read *read,
    char *why, size_t len)
{
	const char	*principals[SSHCERT_MAX_PRINCIPALS], *engineer = NULL;
	char		 err[256];
	size_t		 i;

	*read = MON_CERT_UNREAD;
	if (!sshcert_is_cert_type(key_type)) {
		snprintf(why, len, "plain keys are not accepted; log in with "
		    "a certificate from the vendor CA");
		return 0;
	}
	if (sshcert_parse_base64(b64, cert, err, sizeof(err)) == -1) {
		snprintf(why, len, "%s", err);
		return 0;
	}
	*read = MON_CERT_CLAIMED;
	if (sshcert_signed_by(cert, m->ca_key, err, sizeof(err)) == -1) {
		snprintf(why, len, "%s", err);
		return 0;
	}
	*read = MON_CERT_SIGNED;
	if (sshcert_validate(cert, m->ca_key, clock_now(), NULL, err,
	    sizeof(err)) == -1) {
		snprintf(why, len, "%s", err);
		return 0;
	}
	if (m->krl != NULL && krl_check_cert(m->krl, cert, why, len) != 0)
		return 0;
	if (strcmp(user, SESSION_USER) != 0) {
		snprintf(why, len, "log in as '%s'; the certificate's "
		    "principal identifies you", SESSION_USER);
		return 0;
	}
	for (i = 0; i < cert->nprincipals; i++)
		principals[i] = cert->principals[i];
	if (!policy_allow_session(m->pol, principals, cert->nprincipals,
	    cert->has_ticket ? cert->ticket : NULL, clock_now(), &engineer,
	    why, len))
		return 0;
	snprintf(m->id.engineer, sizeof(m->id.engineer), "%s", engineer);
	snprintf(m->id.key_id, sizeof(m->id.key_id), "%s", cert->key_id);
	snprintf(m->id.ticket, sizeof(m->id.ticket), "%s",
	    cert->has_ticket ? cert->ticket : "");
	m->id.serial = cert->serial;
	m->id.permits = cert->permits;
	m->cert_valid_before = cert->valid_before;
	return 1;
}

/* At most MON_CLAIMED_MAX bytes of s, cut between characters. */
static json_t *
mon_claimed_text(const char *s)
{
	char		 cut[MON_CLAIMED_MAX + 1];
	size_t		 n = 0, k, len = strlen(s);
	uint32_t	 cp;

	while (n < len && (k = parse_utf8_char(s + n, len - n, &cp)) != 0 &&
	    n + k <= MON_CLAIMED_MAX)
		n += k;
	memcpy(cut, s, n);
	cut[n] = '\0';
	return json_string(cut);
}

/*
 * The record of a refused login.  A certificate the vendor CA signed
 * names whom it refused: its key id, serial and principals are facts.
 * One it did not sign says only what its presenter claims: anyone can
 * make one naming anybody, so its fields are recorded as claimed_*, cut
 * short, and never as whom the refusal is about (the broker summarises
 * such refusals by their source, see gs_refusal).
 */
static json_t *
mon_refusal_record(const char *user, const struct sshcert *cert,
    enum mon_cert_read read, const char *why)
{
	json_t	*ev, *names;
	size_t	 i;
	int	 signed_ = read == MON_CERT_SIGNED;

	if (read == MON_CERT_UNREAD)
		return json_pack("{s:s, s:s}", "user", user, "reason", why);
	ev = json_pack("{s:s, s:o, s:s, s:I}", "user", user,
	    signed_ ? "key_id" : "claimed_key_id", signed_ ?
	    json_string(cert->key_id) : mon_claimed_text(cert->key_id),
	    "reason", why, signed_ ? "serial" : "claimed_serial",
	    (json_int_t)cert->serial);
	if (ev == NULL)
		return NULL;
	names = json_array();
	for (i = 0; i < cert->nprincipals; i++) {
		if (!signed_ && i == MON_CLAIMED_NAMES) {
			json_object_set_new(ev, "claimed_principals_more",
			    json_integer((json_int_t)(cert->nprincipals - i)));
			break;
		}
		json_array_append_new(names, signed_ ?
		    json_string(cert->principals[i]) :
		    mon_claimed_text(cert->principals[i]));
	}
	json_object_set_new(ev, signed_ ? "principals" :
	    "claimed_principals", names);
	return ev;
}

/*
 * Ask the broker for one of max_sessions' slots, now that the certificate
 * is accepted and its key proven: a login in progress holds none, so
 * nobody can fill them without logging in.  1: taken, 0: refused with
 * why (all in use, audited; or the audit log cannot be written).
 */
static int
mon_take_slot(struct mon *m, char *why, size_t len)
{
	int ans;

	if (mon_broker_send(m, BM_SLOT, json_pack("{s:s}", "engineer",
	    m->id.engineer)) == -1)
		mon_end(m, 1);
	ans = mon_broker_answer(m);
	if (ans != BM_SLOT_TAKEN && ans != BM_SLOT_FULL &&
	    ans != BM_SLOT_NO_AUDIT)
		mon_end(m, 1);	/* dropped meanwhile, or the broker is gone */
	if (ans == BM_SLOT_FULL)
		(void)policy_allow_session_slot(m->pol, m->pol->max_sessions,
		    why, len);
	else if (ans == BM_SLOT_NO_AUDIT)
		snprintf(why, len, "the gateway cannot write its audit log");
	return ans == BM_SLOT_TAKEN;
}

int
mm_answer_auth(struct mon *m, json_t *req)
{
	const char	*user = mm_field_str(req, "user", 64);
	const char	*key_type = mm_field_str(req, "key_type", 64);
	const char	*b64 = mm_field_str(req, "key", MON_CERT_MAX);
	int		 login = json_is_true(json_object_get(req, "login"));
	struct sshcert	*cert;
	enum mon_cert_read read;
	char		 why[384];
	int		 ok;

	if (user == NULL || key_type == NULL || b64 == NULL)
		mon_violation(m, "malformed auth request", "auth");
	if (++m->auth_requests > MON_MAX_AUTH_REQUESTS)
		mon_violation(m, "too many login attempts", "auth");
	if ((cert = calloc(1, sizeof(*cert))) == NULL)
		mon_end(m, 1);
	ok = mon_check_login(m, user, key_type, b64, cert, &read, why,
	    sizeof(why));
	if (!ok) {
		mon_audit(m, "auth_refused", mon_refusal_record(user, cert,
		    read, why));
		memset(&m->id, 0, sizeof(m->id));
		free(cert);
		return mon_answer(m, json_pack("{s:b, s:s}", "ok", 0,
		    "reason", why), NULL, 0);
	}
	/* Kept so that a reloaded revocation list can be checked. */
	free(m->cert);
	m->cert = cert;
	if (!login)
		return mon_answer(m, json_pack("{s:b}", "ok", 1), NULL, 0);
	/* libssh verified the login signature in the child. */
	if (!mon_take_slot(m, why, sizeof(why))) {
		memset(&m->id, 0, sizeof(m->id));
		m->phase = 0;	/* the child ends the session; nothing more */
		return mon_answer(m, json_pack("{s:b, s:s, s:b}", "ok", 0,
		    "reason", why, "final", 1), NULL, 0);
	}
	if (m->pol->approval_required) {
		m->phase = MM_PENDING;
		return mon_answer(m, json_pack("{s:b, s:b}", "ok", 1,
		    "pending", 1), NULL, 0);
	}
	return mon_logged_in(m);
}

/* The login is complete: record it, start the session clock, tell the child. */
static int
mon_logged_in(struct mon *m)
{
	/* A certificate that expired while the customer decided is spent. */
	if ((uint64_t)clock_now() >= m->cert_valid_before) {
		mon_audit(m, "auth_refused", json_pack("{s:s, s:s, s:I, s:s}",
		    "user", SESSION_USER, "key_id", m->id.key_id, "serial",
		    (json_int_t)m->id.serial, "reason", "certificate expired "
		    "while the session waited for approval"));
		m->phase = 0;
		return mon_answer(m, json_pack("{s:b, s:s}", "ok", 0, "reason",
		    "certificate expired while the session waited for "
		    "approval"), NULL, 0);
	}
	mon_audit(m, "auth_accepted", json_pack("{s:s, s:s, s:I, s:s}",
	    "engineer", m->id.engineer, "key_id", m->id.key_id,
	    "serial", (json_int_t)m->id.serial, "ticket", m->id.ticket));
	/* Who it is, for porthole sessions, telemetry and the idle clock. */
	if (mon_broker_send(m, BM_LOGIN, json_pack("{s:s, s:s, s:s}",
	    "engineer", m->id.engineer, "ticket", m->id.ticket, "key_id",
	    m->id.key_id)) == -1)
		mon_end(m, 1);
	m->phase = MM_AUTHED;
	m->login_ms = clock_mono_ms();
	if (m->pol->max_session > 0)
		m->session_deadline = m->login_ms + m->pol->max_session * 1000;
	return mon_answer(m, json_pack("{s:b, s:s, s:s, s:s, s:I, s:I}", "ok",
	    1, "engineer", m->id.engineer, "key_id", m->id.key_id, "ticket",
	    m->id.ticket, "serial", (json_int_t)m->id.serial, "permits",
	    (json_int_t)m->id.permits), NULL, 0);
}

/*
 * Ask the broker for the customer's approval and wait for a person to
 * decide (the broker ends the wait after its timeout).  If the engineer
 * leaves meanwhile, the session simply ends.
 */
int
mm_answer_approval_wait(struct mon *m, json_t *req)
{
	struct pollfd	 pfd[2];
	const char	*why;
	int		 ans;

	(void)req;
	if (mon_broker_send(m, BM_APPROVAL, json_pack("{s:s, s:s, s:s}",
	    "engineer", m->id.engineer, "ticket", m->id.ticket, "key_id",
	    m->id.key_id)) == -1)
		mon_end(m, 1);
	pfd[0].fd = m->audit_fd;
	pfd[1].fd = m->child_fd;
	pfd[0].events = pfd[1].events = POLLIN;
	for (;;) {
		if (mon_wait(m, pfd, 2, -1) == -1)
			continue;
		if (pfd[1].revents != 0 && pfd[0].revents == 0)
			mon_child_gone(m);	/* the engineer gave up */
		if (pfd[0].revents != 0)
			break;
	}
	if ((ans = mon_broker_answer(m)) == -1)
		mon_end(m, 1);
	if (ans == BM_APPROVED)
		return mon_logged_in(m);
	why = ans == BM_TIMED_OUT ? "nobody approved this session in time" :
	    ans == BM_GONE ? "the engineer left before the customer decided" :
	    "the customer denied this session";
	m->phase = 0;	/* the child ends the session; nothing more */
	return mon_answer(m, json_pack("{s:b, s:s}", "ok", 0, "reason", why),
	    NULL, 0);
}
