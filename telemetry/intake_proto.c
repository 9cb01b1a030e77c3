/*
 * intake_proto.c - the intake socket's replies, built by the gateway and
 * read by `porthole send`.
 */
#include "telemetry/intake_proto.h"

json_t *
intake_reply_new(enum intake_reply kind, uint64_t seq, const char *why)
{
	switch (kind) {
	case INTAKE_STORED:
		return json_pack("{s:b, s:I}", "ok", 1, "seq",
		    (json_int_t)seq);
	case INTAKE_NOT_KEPT:
		return json_pack("{s:b, s:b, s:s}", "ok", 1, "kept", 0,
		    "reason", why);
	default:
		return json_pack("{s:b, s:s}", "ok", 0, "reason", why);
	}
}

int
intake_reply_read(json_t *reply, uint64_t *seq, const char **why)
{
	json_t		*jseq = json_object_get(reply, "seq");
	const char	*r = json_string_value(json_object_get(reply, "reason"));

	*why = r != NULL ? r : "";
	*seq = 0;
	if (!json_is_object(reply) || !json_is_boolean(json_object_get(reply,
	    "ok")))
		return -1;
	if (!json_is_true(json_object_get(reply, "ok")))
		return INTAKE_REFUSED;
	if (jseq == NULL)
		return INTAKE_NOT_KEPT;
	if (!json_is_integer(jseq) || json_integer_value(jseq) < 0)
		return -1;
	*seq = (uint64_t)json_integer_value(jseq);
	return INTAKE_STORED;
}
