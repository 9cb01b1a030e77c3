/*
 * test_telemetry.c - records, frames and the spool as their users see
 * them: producers get a record accepted or a reason naming the field,
 * the relay and gateway get whole frames however the bytes arrive, and
 * the uplink gets every durable record once, in order, across restarts,
 * crashes, damage and a full disk; the outbox gives back what was sent,
 * byte for byte, each record once, and stops at a torn end.
 */
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "lib/log.h"
#include "telemetry/frame.h"
#include "telemetry/license.h"
#include "telemetry/outbox.h"
#include "telemetry/record.h"
#include "telemetry/spool.h"

#define HDR		25		/* a spool frame's header */
#define BIG_SPOOL	(1024ULL * 1024 * 1024)
#define MAX_SEEN	2048

static char	dir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/porthole-spool.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

/* ---- records ---- */

struct record_case {
	const char		*text;
	enum record_class	 cls;	/* 0: must be refused */
	const char		*why;	/* a part of the reason */
};

static const struct record_case record_cases[] = {
	/* Accepted, one of each shape from DESIGN.md and some edges. */
	{ "{\"class\":\"usage\",\"hour\":\"2026-11-23T10:00:00Z\","
	    "\"environment\":\"env-1\",\"units\":{\"host_units\":12.5,"
	    "\"dem_units\":300}}", RECORD_USAGE, NULL },
	{ "{\"class\":\"event\",\"type\":\"node_added\",\"node\":\"node-3\","
	    "\"ts\":\"2026-11-23T10:04:00Z\"}", RECORD_EVENT, NULL },
	{ "{\"class\":\"health\",\"ts\":\"2026-11-23T10:04:00Z\","
	    "\"nodes\":[],\"services\":[{\"up\":true}],\"disks\":[]}",
	    RECORD_HEALTH, NULL },
	{ "{\"class\":\"usage\",\"hour\":\"2028-02-29T23:00:00Z\","
	    "\"environment\":\"a.B_1:-z\",\"units\":{\"x\":0,\"y\":0.0}}",
	    RECORD_USAGE, NULL },
	{ "{\"class\":\"usage\",\"hour\":\"2026-11-23T10:00:00Z\","
	    "\"environment\":\"e\",\"units\":{}}", RECORD_USAGE, NULL },
	{ " {\"ts\":\"2026-11-23T10:04:00Z\",\"class\":\"health\"} \n",
	    RECORD_HEALTH, NULL },
	{ "{\"class\":\"event\",\"type\":\"a_0\","
	    "\"ts\":\"1970-01-01T00:00:00Z\"}", RECORD_EVENT, NULL },
	/* Not a record at all. */
	{ "", 0, "empty" },
	{ "[]", 0, "object" },
	{ "\"usage\"", 0, "invalid JSON" },
	{ "{\"class\":\"usage\"", 0, "invalid JSON" },
	{ "{\"class\":\"health\",\"ts\":\"2026-11-23T10:04:00Z\"} x", 0,
	    "invalid JSON" },
	{ "{\"class\":\"health\",\"class\":\"health\","
	    "\"ts\":\"2026-11-23T10:04:00Z\"}", 0, "duplicate" },
	{ "{\"ts\":\"2026-11-23T10:04:00Z\"}", 0, "'class' is missing" },
	{ "{\"class\":3,\"ts\":\"2026-11-23T10:04:00Z\"}", 0, "'class'" },
	{ "{\"class\":\"billing\",\"ts\":\"2026-11-23T10:04:00Z\"}", 0,
	    "'class' must be usage, event or health" },
	{ "{\"class\":\"Usage\",\"ts\":\"2026-11-23T10:04:00Z\"}", 0,
	    "'class'" },
	/* Usage. */
	{ "{\"class\":\"usage\",\"environment\":\"e\",\"units\":{}}", 0,
	    "'hour' is missing" },
	{ "{\"class\":\"usage\",\"hour\":\"2026-11-23T10:30:00Z\","
	    "\"environment\":\"e\",\"units\":{}}", 0, "'hour' must be an RFC "
	    "3339 time on the hour" },
	{ "{\"class\":\"usage\",\"hour\":\"2026-11-23T10:00:01Z\","
	    "\"environment\":\"e\",\"units\":{}}", 0, "on the hour" },
	{ "{\"class\":\"usage\",\"hour\":\"2026-11-23T10:00:00+00:00\","
	    "\"environment\":\"e\",\"units\":{}}", 0, "'hour'" },
	{ "{\"class\":\"usage\",\"hour\":\"2026-11-23t10:00:00z\","
	    "\"environment\":\"e\",\"units\":{}}", 0, "'hour'" },
	{ "{\"class\":\"usage\",\"hour\":\"2026-02-30T10:00:00Z\","
	    "\"environment\":\"e\",\"units\":{}}", 0, "'hour'" },
	{ "{\"class\":\"usage\",\"hour\":1795000000,"
	    "\"environment\":\"e\",\"units\":{}}", 0, "'hour' must be a "
	    "string" },
	{ "{\"class\":\"usage\",\"hour\":\"2026-11-23T10:00:00Z\","
	    "\"units\":{}}", 0, "'environment' is missing" },
	{ "{\"class\":\"usage\",\"hour\":\"2026-11-23T10:00:00Z\","
	    "\"environment\":\"\",\"units\":{}}", 0, "'environment'" },
	{ "{\"class\":\"usage\",\"hour\":\"2026-11-23T10:00:00Z\","
	    "\"environment\":\"env 1\",\"units\":{}}", 0, "'environment'" },
	{ "{\"class\":\"usage\",\"hour\":\"2026-11-23T10:00:00Z\","
	    "\"environment\":\"../etc\",\"units\":{}}", 0, "'environment'" },
	{ "{\"class\":\"usage\",\"hour\":\"2026-11-23T10:00:00Z\","
	    "\"environment\":\"e\"}", 0, "'units' is missing" },
	{ "{\"class\":\"usage\",\"hour\":\"2026-11-23T10:00:00Z\","
	    "\"environment\":\"e\",\"units\":[1]}", 0, "'units' must be an "
	    "object" },
	{ "{\"class\":\"usage\",\"hour\":\"2026-11-23T10:00:00Z\","
	    "\"environment\":\"e\",\"units\":{\"host_units\":-1}}", 0,
	    "'units.host_units' must be a number >= 0" },
	{ "{\"class\":\"usage\",\"hour\":\"2026-11-23T10:00:00Z\","
	    "\"environment\":\"e\",\"units\":{\"h\":-0.5}}", 0, "'units.h'" },
	{ "{\"class\":\"usage\",\"hour\":\"2026-11-23T10:00:00Z\","
	    "\"environment\":\"e\",\"units\":{\"h\":\"12\"}}", 0,
	    "'units.h'" },
	{ "{\"class\":\"usage\",\"hour\":\"2026-11-23T10:00:00Z\","
	    "\"environment\":\"e\",\"units\":{\"h\":true}}", 0, "'units.h'" },
	{ "{\"class\":\"usage\",\"hour\":\"2026-11-23T10:00:00Z\","
	    "\"environment\":\"e\",\"units\":{\"h\":null}}", 0, "'units.h'" },
	{ "{\"class\":\"usage\",\"hour\":\"2026-11-23T10:00:00Z\","
	    "\"environment\":\"e\",\"units\":{\"host units\":1}}", 0,
	    "'units' has a unit name" },
	/* Events and health. */
	{ "{\"class\":\"event\",\"ts\":\"2026-11-23T10:04:00Z\"}", 0,
	    "'type' is missing" },
	{ "{\"class\":\"event\",\"type\":\"NodeAdded\","
	    "\"ts\":\"2026-11-23T10:04:00Z\"}", 0, "'type'" },
	{ "{\"class\":\"event\",\"type\":\"node-added\","
	    "\"ts\":\"2026-11-23T10:04:00Z\"}", 0, "'type'" },
	{ "{\"class\":\"event\",\"type\":\"node_added\"}", 0,
	    "'ts' is missing" },
	{ "{\"class\":\"event\",\"type\":\"node_added\","
	    "\"ts\":\"2026-11-23T10:04:00.5Z\"}", 0, "'ts' must be an RFC "
	    "3339 UTC time" },
	{ "{\"class\":\"health\"}", 0, "'ts' is missing" },
	{ "{\"class\":\"health\",\"ts\":[]}", 0, "'ts' must be a string" },
	{ "{\"class\":\"health\",\"ts\":\"2026-11-23 10:04:00Z\"}", 0,
	    "'ts'" },
	{ "{\"class\":\"health\",\"ts\":\"2026-13-01T00:00:00Z\"}", 0,
	    "'ts'" },
};

static void
test_record_table(void **state)
{
	const struct record_case	*c;
	enum record_class		 cls;
	json_t				*rec;
	char				 why[256];
	size_t				 i;
	int				 rc;

	(void)state;
	assert_true(sizeof(record_cases) / sizeof(record_cases[0]) >= 25);
	for (i = 0; i < sizeof(record_cases) / sizeof(record_cases[0]); i++) {
		c = &record_cases[i];
		rec = NULL;
		why[0] = '\0';
		rc = record_parse(c->text, strlen(c->text), &rec, &cls, why,
		    sizeof(why));
		if (c->cls != 0) {
			if (rc != 0)
				fail_msg("case %zu refused: %s", i, why);
			assert_int_equal(cls, c->cls);
			assert_true(json_is_object(rec));
			json_decref(rec);
			continue;
		}
		if (rc != -1)
			fail_msg("case %zu accepted: %s", i, c->text);
		assert_null(rec);
		if (strstr(why, c->why) == NULL)
			fail_msg("case %zu: reason \"%s\" lacks \"%s\"", i, why,
			    c->why);
		assert_null(strchr(why, '\n'));
	}
}

/* Builds {"class":"usage",...,"units":{"u0":0,...}} with n units. */
static void
usage_with_units(char *buf, size_t len, int n)
{
	size_t	off;
	int	i;

	off = (size_t)snprintf(buf, len, "{\"class\":\"usage\","
	    "\"hour\":\"2026-11-23T10:00:00Z\",\"environment\":\"e\","
	    "\"units\":{");
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s\"u%d\":%d",
		    i == 0 ? "" : ",", i, i);
	snprintf(buf + off, len - off, "}}");
}

static void
test_record_bounds(void **state)
{
	enum record_class	 cls;
	json_t			*rec = NULL;
	char			 why[256], buf[4096], *big;
	size_t			 n;

	(void)state;
	usage_with_units(buf, sizeof(buf), 64);
	assert_int_equal(record_parse(buf, strlen(buf), &rec, &cls, why,
	    sizeof(why)), 0);
	json_decref(rec);
	usage_with_units(buf, sizeof(buf), 65);
	assert_int_equal(record_parse(buf, strlen(buf), &rec, &cls, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "at most 64 units"));

	/* 128 characters of environment are fine, 129 are not. */
	snprintf(buf, sizeof(buf), "{\"class\":\"usage\",\"hour\":"
	    "\"2026-11-23T10:00:00Z\",\"environment\":\"%0128d\","
	    "\"units\":{}}", 7);
	assert_int_equal(record_parse(buf, strlen(buf), &rec, &cls, why,
	    sizeof(why)), 0);
	json_decref(rec);
	snprintf(buf, sizeof(buf), "{\"class\":\"usage\",\"hour\":"
	    "\"2026-11-23T10:00:00Z\",\"environment\":\"%0129d\","
	    "\"units\":{}}", 7);
	assert_int_equal(record_parse(buf, strlen(buf), &rec, &cls, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "'environment'"));

	/* RECORD_DEPTH_MAX levels are fine, one more is not. */
	for (n = 31; n <= 33; n++) {
		snprintf(buf, sizeof(buf), "{\"class\":\"health\",\"ts\":"
		    "\"2026-11-23T10:04:00Z\",\"x\":%.*s%.*s}", (int)n,
		    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", (int)n,
		    "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
		rec = NULL;
		assert_int_equal(record_parse(buf, strlen(buf), &rec, &cls, why,
		    sizeof(why)), n + 1 <= RECORD_DEPTH_MAX ? 0 : -1);
		if (n + 1 > RECORD_DEPTH_MAX)
			assert_non_null(strstr(why, "deeper than 32"));
		json_decref(rec);
	}

	/* Exactly RECORD_MAX bytes is accepted; one more is refused. */
	assert_non_null(big = malloc(RECORD_MAX + 2));
	n = (size_t)snprintf(big, RECORD_MAX, "{\"class\":\"health\","
	    "\"ts\":\"2026-11-23T10:04:00Z\",\"pad\":\"");
	memset(big + n, 'x', RECORD_MAX - n - 2);
	memcpy(big + RECORD_MAX - 2, "\"}", 2);
	assert_int_equal(record_parse(big, RECORD_MAX, &rec, &cls, why,
	    sizeof(why)), 0);
	json_decref(rec);
	memmove(big + 1, big, RECORD_MAX);
	big[0] = ' ';
	assert_int_equal(record_parse(big, RECORD_MAX + 1, &rec, &cls, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "longer than"));
	free(big);
}

static void
test_record_fields_kept(void **state)
{
	static const char text[] = "{\"class\":\"event\",\"type\":"
	    "\"activegate_registered\",\"ts\":\"2026-11-23T10:04:00Z\","
	    "\"node\":\"ag-1\",\"extra\":{\"k\":[1,2]}}TRAILING";
	enum record_class	 cls;
	json_t			*rec = NULL;
	char			 why[256];

	(void)state;
	/* Only len bytes are the record: what follows is not looked at. */
	assert_int_equal(record_parse(text, strlen(text) - 8, &rec, &cls, why,
	    sizeof(why)), 0);
	assert_int_equal(cls, RECORD_EVENT);
	assert_string_equal(json_string_value(json_object_get(rec, "node")),
	    "ag-1");
	assert_int_equal(json_array_size(json_object_get(json_object_get(rec,
	    "extra"), "k")), 2);
	json_decref(rec);

	assert_string_equal(record_class_name(RECORD_USAGE), "usage");
	assert_string_equal(record_class_name(RECORD_EVENT), "event");
	assert_string_equal(record_class_name(RECORD_HEALTH), "health");
	assert_int_equal(record_class_from_name("health"), RECORD_HEALTH);
	assert_int_equal(record_class_from_name("usage"), RECORD_USAGE);
	assert_int_equal(record_class_from_name("events"), 0);
	assert_int_equal(record_class_from_name(""), 0);
	assert_int_equal(record_class_from_name(NULL), 0);
}

/* ---- frames ---- */

static json_t *
frame_obj(int i)
{
	json_t *o;

	switch (i % 3) {
	case 0:
		o = json_pack("{s:s, s:I}", "t", "ack", "seq",
		    (json_int_t)i * 1000);
		break;
	case 1:
		o = json_pack("{s:s, s:[{s:I, s:s, s:{s:s}}]}", "t", "records",
		    "records", "seq", (json_int_t)i, "class", "health",
		    "record", "ts", "2026-11-23T10:04:00Z");
		break;
	default:
		o = json_pack("{s:s}", "t", "ping");
		break;
	}
	assert_non_null(o);
	return o;
}

/* Encode n frames into one stream; *len gets its size. */
static char *
frame_stream(int n, size_t *len)
{
	char	*out = NULL, *f;
	size_t	 flen;
	json_t	*o;
	int	 i;

	*len = 0;
	for (i = 0; i < n; i++) {
		o = frame_obj(i);
		assert_int_equal(frame_encode(o, &f, &flen), 0);
		json_decref(o);
		assert_non_null(out = realloc(out, *len + flen));
		memcpy(out + *len, f, flen);
		*len += flen;
		free(f);
	}
	return out;
}

/* Feed stream in pieces of step bytes; check every frame arrives whole. */
static void
feed_in_steps(const char *stream, size_t len, size_t step, int n)
{
	struct frame_reader	*r;
	json_t			*o, *want;
	size_t			 off, k;
	int			 got = 0;

	assert_non_null(r = frame_reader_new());
	for (off = 0; off < len; off += k) {
		k = len - off < step ? len - off : step;
		assert_int_equal(frame_reader_feed(r, stream + off, k), 0);
		while (frame_reader_next(r, &o) == 1) {
			want = frame_obj(got++);
			assert_true(json_equal(o, want));
			json_decref(want);
			json_decref(o);
		}
	}
	assert_int_equal(got, n);
	assert_int_equal(frame_reader_next(r, &o), 0);
	frame_reader_free(r);
}

static void
test_frame_splits(void **state)
{
	char	*stream;
	size_t	 len, step;

	(void)state;
	stream = frame_stream(7, &len);
	/* Byte by byte, all at once, and cuts across every boundary. */
	for (step = 1; step <= 41; step++)
		feed_in_steps(stream, len, step, 7);
	feed_in_steps(stream, len, len, 7);
	free(stream);
}

static void
test_frame_encode(void **state)
{
	json_t	*o;
	char	*f, *big;
	size_t	 len;

	(void)state;
	o = json_pack("{s:s}", "t", "pong");
	assert_int_equal(frame_encode(o, &f, &len), 0);
	assert_int_equal(len, 4 + strlen("{\"t\":\"pong\"}"));
	assert_memory_equal(f, "\0\0\0\x0c{\"t\":\"pong\"}", len);
	free(f);
	json_decref(o);

	/* Only objects naming their kind are frames. */
	o = json_pack("[s]", "t");
	assert_int_equal(frame_encode(o, &f, &len), -1);
	json_decref(o);
	o = json_pack("{s:i}", "t", 1);
	assert_int_equal(frame_encode(o, &f, &len), -1);
	json_decref(o);
	o = json_pack("{s:s}", "seq", "1");
	assert_int_equal(frame_encode(o, &f, &len), -1);
	json_decref(o);

	/* {"t":"x","p":"..."} of FRAME_MAX bytes is a frame; one more not. */
	assert_non_null(big = malloc(FRAME_MAX));
	memset(big, 'a', FRAME_MAX - 16);
	big[FRAME_MAX - 16] = '\0';
	o = json_pack("{s:s, s:s}", "t", "x", "p", big);
	assert_int_equal(frame_encode(o, &f, &len), 0);
	assert_int_equal(len, 4 + FRAME_MAX);
	free(f);
	json_decref(o);
	memset(big, 'a', FRAME_MAX - 15);
	big[FRAME_MAX - 15] = '\0';
	o = json_pack("{s:s, s:s}", "t", "x", "p", big);
	assert_int_equal(frame_encode(o, &f, &len), -1);
	json_decref(o);
	free(big);
}

/* A stream of one frame with the given length field and body. */
static int
feed_raw(struct frame_reader *r, uint32_t n, const char *body)
{
	unsigned char hdr[4] = { n >> 24, n >> 16, n >> 8, n };

	if (frame_reader_feed(r, hdr, sizeof(hdr)) == -1)
		return -1;
	return body == NULL ? 0 : frame_reader_feed(r, body, strlen(body));
}

static int
next_of(uint32_t n, const char *body)
{
	struct frame_reader	*r;
	json_t			*o = NULL;
	int			 rc;

	assert_non_null(r = frame_reader_new());
	if ((rc = feed_raw(r, n, body)) == 0) {
		rc = frame_reader_next(r, &o);
		json_decref(o);
	}
	frame_reader_free(r);
	return rc;
}

static int
next_body(const char *body)
{
	return next_of((uint32_t)strlen(body), body);
}

static void
test_frame_errors(void **state)
{
	struct frame_reader	*r;
	json_t			*o;
	char			*big;
	size_t			 n;

	(void)state;
	/* Lengths are refused as soon as the header is in. */
	assert_int_equal(next_of(0, NULL), -1);
	assert_int_equal(next_of(FRAME_MAX + 1, NULL), -1);
	assert_int_equal(next_of(0xffffffff, NULL), -1);
	/* Bodies that are not an object with a string "t". */
	assert_int_equal(next_body("{\"t\":"), -1);
	assert_int_equal(next_body("[\"t\",\"x\"]"), -1);
	assert_int_equal(next_body("{}"), -1);
	assert_int_equal(next_body("{\"t\":1}"), -1);
	assert_int_equal(next_body("{\"t\":\"a\",\"t\":\"b\"} "), -1);
	assert_int_equal(next_body("{\"t\":\"a\"} x"), -1);
	assert_int_equal(next_body("{\"t\":\"a\"}"), 1);
	assert_int_equal(next_body(" {\"t\":\"a\",\"seq\":[1,{}]}\n"), 1);
	/* A complete header but half a body is not a frame yet. */
	assert_int_equal(next_of(20, "{\"t\":\"a\"}"), 0);
	assert_int_equal(next_of(3, "{\"t\":\"a\"}"), -1);

	/* Exactly FRAME_MAX bytes is a frame. */
	assert_non_null(big = malloc(FRAME_MAX + 1));
	n = (size_t)snprintf(big, FRAME_MAX, "{\"t\":\"x\",\"p\":\"");
	memset(big + n, 'a', FRAME_MAX - n - 2);
	memcpy(big + FRAME_MAX - 2, "\"}", 3);
	assert_int_equal(next_of(FRAME_MAX, big), 1);
	free(big);

	/* The feed itself refuses a bad length, before any body. */
	assert_non_null(r = frame_reader_new());
	assert_int_equal(feed_raw(r, 9, "{\"t\":\"a\"}"), 0);
	assert_int_equal(feed_raw(r, FRAME_MAX + 1, NULL), 0);
	assert_int_equal(frame_reader_next(r, &o), 1);
	json_decref(o);
	assert_int_equal(frame_reader_feed(r, "x", 1), -1);
	frame_reader_free(r);
	assert_non_null(r = frame_reader_new());
	assert_int_equal(feed_raw(r, FRAME_MAX + 1, NULL), -1);
	frame_reader_free(r);

	/* After an error the reader stays failed. */
	assert_non_null(r = frame_reader_new());
	assert_int_equal(feed_raw(r, 7, "{\"t\":1}"), 0);
	assert_int_equal(frame_reader_next(r, &o), -1);
	assert_int_equal(feed_raw(r, 9, "{\"t\":\"a\"}"), -1);
	assert_int_equal(frame_reader_next(r, &o), -1);
	frame_reader_free(r);

	/* A good frame before a bad one still arrives. */
	assert_non_null(r = frame_reader_new());
	assert_int_equal(feed_raw(r, 9, "{\"t\":\"a\"}"), 0);
	assert_int_equal(feed_raw(r, 3, "abc"), 0);
	assert_int_equal(frame_reader_next(r, &o), 1);
	assert_string_equal(json_string_value(json_object_get(o, "t")), "a");
	json_decref(o);
	assert_int_equal(frame_reader_next(r, &o), -1);
	frame_reader_free(r);
}

/* Classify the frame text f as received by to in phase greeted. */
static int
classify(const char *f, enum frame_dir to, int greeted,
    enum frame_kind *kind, char *why, size_t whylen)
{
	json_t	*o;
	int	 rc;

	assert_non_null(o = json_loads(f, 0, NULL));
	why[0] = '\0';
	rc = frame_classify(o, to, greeted, kind, why, whylen);
	json_decref(o);
	return rc;
}

static void
test_frame_classify(void **state)
{
	enum frame_kind	k;
	char		why[128];
	size_t		i;

	(void)state;
	/* Every kind has a name, and the names are unique. */
	for (i = 0; i < FRAME__COUNT; i++) {
		assert_non_null(frame_specs[i].name);
		for (k = 0; k < (enum frame_kind)i; k++)
			assert_string_not_equal(frame_specs[i].name,
			    frame_specs[k].name);
	}
	assert_int_equal(classify("{\"t\":\"hello\"}", FRAME_UP, 0, &k,
	    why, sizeof(why)), 0);
	assert_int_equal(k, FRAME_HELLO);
	assert_int_equal(classify("{\"t\":\"records\"}", FRAME_UP, 1, &k,
	    why, sizeof(why)), 0);
	assert_int_equal(k, FRAME_RECORDS);
	/* The relay answers checks in either phase: no store, no welcome. */
	assert_int_equal(classify("{\"t\":\"license\"}", FRAME_DOWN, 0, &k,
	    why, sizeof(why)), 0);
	assert_int_equal(classify("{\"t\":\"pong\"}", FRAME_DOWN, 1, &k,
	    why, sizeof(why)), 0);

	/* Unknown: named, short and escaped. */
	assert_int_equal(classify("{\"t\":\"bogus\\u001b[2J\"}", FRAME_UP,
	    1, &k, why, sizeof(why)), -1);
	assert_string_equal(why, "unknown frame 'bogus\\x1b[2J'");
	/* The wrong way. */
	assert_int_equal(classify("{\"t\":\"welcome\",\"seq\":0}", FRAME_UP,
	    0, &k, why, sizeof(why)), -1);
	assert_string_equal(why, "'welcome' goes from the relay to the "
	    "gateway");
	assert_int_equal(classify("{\"t\":\"records\"}", FRAME_DOWN, 1, &k,
	    why, sizeof(why)), -1);
	/* Out of phase: a second hello, records before it, acks too. */
	assert_int_equal(classify("{\"t\":\"hello\"}", FRAME_UP, 1, &k, why,
	    sizeof(why)), -1);
	assert_string_equal(why, "'hello' after the hello/welcome exchange");
	assert_int_equal(classify("{\"t\":\"records\"}", FRAME_UP, 0, &k,
	    why, sizeof(why)), -1);
	assert_string_equal(why, "'records' before the hello/welcome "
	    "exchange");
	assert_int_equal(classify("{\"t\":\"welcome\"}", FRAME_DOWN, 1, &k,
	    why, sizeof(why)), -1);
	assert_int_equal(classify("{\"t\":\"ack\"}", FRAME_DOWN, 0, &k,
	    why, sizeof(why)), -1);
}

/* ---- spool ---- */

/* A record of exactly len bytes (len >= 120), with n inside. */
static size_t
mkrec(char *buf, enum record_class cls, unsigned n, size_t len)
{
	size_t off;

	off = (size_t)snprintf(buf, len, "{\"class\":\"%s\",\"ts\":"
	    "\"2026-11-23T10:04:00Z\",\"n\":%u,\"pad\":\"",
	    record_class_name(cls), n);
	memset(buf + off, 'p', len - off - 2);
	memcpy(buf + len - 2, "\"}", 2);
	buf[len] = '\0';
	return len;
}

static uint64_t
append(struct spool *sp, enum record_class cls, unsigned n, size_t len,
    time_t now)
{
	char		 buf[RECORD_MAX + 1], why[256];
	uint64_t	 seq = 0;

	mkrec(buf, cls, n, len);
	if (spool_append(sp, cls, buf, len, now, &seq, why,
	    sizeof(why)) != 0)
		fail_msg("append %u: %s", n, why);
	return seq;
}

static void
sync_ok(struct spool *sp)
{
	char why[256];

	if (spool_sync(sp, why, sizeof(why)) != 0)
		fail_msg("sync: %s", why);
}

static struct spool *
open_ok(uint64_t max_bytes)
{
	struct spool	*sp = NULL;
	char		 err[512];

	if (spool_open(dir, max_bytes, &sp, err, sizeof(err)) != 0)
		fail_msg("open: %s", err);
	return sp;
}

/* What the uplink saw: sequence numbers, classes and each record's n. */
struct seen {
	uint64_t		 seq[MAX_SEEN];
	enum record_class	 cls[MAX_SEEN];
	unsigned		 n[MAX_SEEN];
	size_t			 count;
	size_t			 stop_after;	/* 0: never stop */
};

static int
collect(void *arg, uint64_t seq, enum record_class cls, const char *rec,
    size_t len)
{
	struct seen	*s = arg;
	json_t		*j;

	assert_true(s->count < MAX_SEEN);
	assert_non_null(j = json_loadb(rec, len, 0, NULL));
	assert_string_equal(json_string_value(json_object_get(j, "class")),
	    record_class_name(cls));
	s->n[s->count] = (unsigned)json_integer_value(json_object_get(j, "n"));
	json_decref(j);
	s->seq[s->count] = seq;
	s->cls[s->count++] = cls;
	return s->stop_after != 0 && s->count >= s->stop_after;
}

/* Read everything after after, in batches as the uplink would. */
static void
read_all(struct spool *sp, uint64_t after, size_t batch, struct seen *s)
{
	int n;

	memset(s, 0, sizeof(*s));
	while ((n = spool_read(sp, after, batch, BIG_SPOOL, collect, s)) > 0)
		after = s->seq[s->count - 1];
	assert_int_equal(n, 0);
}

/* The segment files, sorted; returns how many. */
static int
segments(char names[][128], int max)
{
	struct dirent	**list;
	int		  n, i, k = 0;

	n = scandir(dir, &list, NULL, alphasort);
	assert_true(n >= 0);
	for (i = 0; i < n; i++) {
		if (strlen(list[i]->d_name) == 24 &&
		    strcmp(list[i]->d_name + 20, ".seg") == 0 && k < max)
			snprintf(names[k++], 128, "%s/%.24s", dir,
			    list[i]->d_name);
		free(list[i]);
	}
	free(list);
	return k;
}

static off_t
file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void
test_spool_append_read(void **state)
{
	struct spool		*sp;
	struct spool_stats	 st;
	struct seen		 s;
	enum record_class	 cls;
	char			 why[256];
	uint64_t		 seq;
	unsigned		 i;

	(void)state;
	sp = open_ok(BIG_SPOOL);
	for (i = 1; i <= 10; i++) {
		cls = i % 3 == 0 ? RECORD_HEALTH : i % 3 == 1 ? RECORD_USAGE :
		    RECORD_EVENT;
		assert_int_equal(append(sp, cls, i, 200 + i, 1000 + i), i);
	}
	/* Nothing leaves before it is durable. */
	assert_int_equal(spool_read(sp, 0, 100, BIG_SPOOL, collect, &s), 0);
	sync_ok(sp);
	read_all(sp, 0, 100, &s);
	assert_int_equal(s.count, 10);
	for (i = 0; i < 10; i++) {
		assert_int_equal(s.seq[i], i + 1);
		assert_int_equal(s.n[i], i + 1);
		assert_int_equal(s.cls[i], (i + 1) % 3 == 0 ? RECORD_HEALTH :
		    (i + 1) % 3 == 1 ? RECORD_USAGE : RECORD_EVENT);
	}
	/* From the middle, by count, by bytes, and stopped by the visitor. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(spool_read(sp, 5, 100, BIG_SPOOL, collect, &s), 5);
	assert_int_equal(s.seq[0], 6);
	memset(&s, 0, sizeof(s));
	assert_int_equal(spool_read(sp, 0, 3, BIG_SPOOL, collect, &s), 3);
	memset(&s, 0, sizeof(s));
	assert_int_equal(spool_read(sp, 0, 100, 420, collect, &s), 2);
	memset(&s, 0, sizeof(s));
	assert_int_equal(spool_read(sp, 0, 100, 1, collect, &s), 1);
	memset(&s, 0, sizeof(s));
	s.stop_after = 4;
	assert_int_equal(spool_read(sp, 2, 100, BIG_SPOOL, collect, &s), 4);
	assert_int_equal(s.seq[3], 6);
	assert_int_equal(spool_read(sp, 10, 100, BIG_SPOOL, collect, &s), 0);
	/* Appends after a sync stay invisible until the next one. */
	for (i = 11; i <= 13; i++)
		append(sp, RECORD_USAGE, i, 150, 2000);
	read_all(sp, 0, 100, &s);
	assert_int_equal(s.count, 10);
	sync_ok(sp);
	read_all(sp, 0, 100, &s);
	assert_int_equal(s.count, 13);

	/* Bad appends are refused and cost no sequence number. */
	assert_int_equal(spool_append(sp, RECORD_USAGE, "{}", 0, 1, &seq, why,
	    sizeof(why)), -1);
	assert_int_equal(spool_append(sp, 0, "{}", 2, 1, &seq, why,
	    sizeof(why)), -1);
	assert_int_equal(spool_append(sp, RECORD_USAGE, "{}", RECORD_MAX + 1,
	    1, &seq, why, sizeof(why)), -1);
	assert_int_equal(append(sp, RECORD_EVENT, 14, 150, 2000), 14);
	spool_stats(sp, &st);
	assert_int_equal(st.last_seq, 14);
	assert_int_equal(st.depth, 14);
	spool_close(sp);
}

/* The documented on-disk frame, checked with an independent CRC-32C. */
static uint32_t
crc32c_bitwise(const unsigned char *p, size_t n)
{
	uint32_t	crc = 0xffffffff;
	int		k;

	while (n-- > 0) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ 0x82f63b78 : crc >> 1;
	}
	return ~crc;
}

static uint64_t
be(const unsigned char *p, int n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = v << 8 | *p++;
	return v;
}

static void
test_spool_format(void **state)
{
	struct spool	*sp;
	unsigned char	 buf[512];
	char		 names[4][128], rec[300];
	int		 fd;

	(void)state;
	assert_int_equal(crc32c_bitwise((const unsigned char *)"123456789",
	    9), 0xe3069283);
	sp = open_ok(BIG_SPOOL);
	append(sp, RECORD_EVENT, 7, 200, 1795000000);
	sync_ok(sp);
	spool_close(sp);
	assert_int_equal(segments(names, 4), 1);
	assert_non_null(strstr(names[0], "/00000000000000000001.seg"));
	assert_int_equal(file_size(names[0]), HDR + 200);
	assert_true((fd = open(names[0], O_RDONLY)) != -1);
	assert_int_equal(read(fd, buf, sizeof(buf)), HDR + 200);
	close(fd);
	mkrec(rec, RECORD_EVENT, 7, 200);
	assert_int_equal(be(buf, 4), 200);
	assert_int_equal(be(buf + 4, 4), crc32c_bitwise(buf + 8, HDR - 8 +
	    200));
	assert_int_equal(be(buf + 8, 8), 1);
	assert_int_equal(buf[16], RECORD_EVENT);
	assert_int_equal(be(buf + 17, 8), 1795000000);
	assert_memory_equal(buf + HDR, rec, 200);
}

static void
test_spool_reopen(void **state)
{
	struct spool		*sp;
	struct spool_stats	 st;
	struct seen		 s;
	unsigned		 i;

	(void)state;
	sp = open_ok(BIG_SPOOL);
	for (i = 1; i <= 5; i++)
		append(sp, RECORD_USAGE, i, 300, 100 * i);
	sync_ok(sp);
	spool_close(sp);

	sp = open_ok(BIG_SPOOL);
	spool_stats(sp, &st);
	assert_int_equal(st.last_seq, 5);
	assert_int_equal(st.depth, 5);
	assert_int_equal(st.oldest, 100);
	assert_int_equal(st.bytes, 5 * (HDR + 300));
	read_all(sp, 0, 2, &s);
	assert_int_equal(s.count, 5);
	assert_int_equal(s.n[4], 5);
	assert_int_equal(append(sp, RECORD_USAGE, 6, 300, 600), 6);
	sync_ok(sp);
	spool_close(sp);

	sp = open_ok(BIG_SPOOL);
	read_all(sp, 0, 100, &s);
	assert_int_equal(s.count, 6);
	assert_int_equal(s.seq[5], 6);
	spool_close(sp);
}

/* Three records, then the file is damaged by fn before reopening. */
static void
torn_case(void (*damage)(const char *))
{
	struct spool		*sp;
	struct spool_stats	 st;
	struct seen		 s;
	char			 names[4][128];
	off_t			 good;

	sp = open_ok(BIG_SPOOL);
	append(sp, RECORD_USAGE, 1, 300, 10);
	append(sp, RECORD_EVENT, 2, 300, 20);
	append(sp, RECORD_USAGE, 3, 300, 30);
	sync_ok(sp);
	spool_close(sp);
	assert_int_equal(segments(names, 4), 1);
	damage(names[0]);

	sp = open_ok(BIG_SPOOL);
	spool_stats(sp, &st);
	good = (off_t)st.last_seq * (HDR + 300);
	assert_true(st.last_seq == 2 || st.last_seq == 3);
	assert_int_equal(st.depth, st.last_seq);
	/* The tail is gone from the disk, and the spool counts it so. */
	assert_int_equal(file_size(names[0]), good);
	assert_int_equal(st.bytes, good);
	read_all(sp, 0, 100, &s);
	assert_int_equal(s.count, st.last_seq);
	assert_int_equal(s.n[0], 1);
	assert_int_equal(s.n[1], 2);
	/* Appends go on right after the last good record. */
	assert_int_equal(append(sp, RECORD_USAGE, 9, 300, 40),
	    st.last_seq + 1);
	sync_ok(sp);
	spool_close(sp);
	sp = open_ok(BIG_SPOOL);
	read_all(sp, 0, 100, &s);
	assert_int_equal(s.count, st.last_seq + 1);
	assert_int_equal(s.n[s.count - 1], 9);
	spool_close(sp);
}

static void
cut_mid_frame(const char *path)
{
	assert_int_equal(truncate(path, file_size(path) - 7), 0);
}

static void
cut_mid_header(const char *path)
{
	assert_int_equal(truncate(path, 2 * (HDR + 300) + 10), 0);
}

static void
append_bytes(const char *path, const void *p, size_t n)
{
	int fd;

	assert_true((fd = open(path, O_WRONLY | O_APPEND)) != -1);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	close(fd);
}

static void
add_garbage(const char *path)
{
	append_bytes(path, "garbage after the last frame, not a header", 42);
}

static void
add_zeros(const char *path)
{
	static const char zeros[4096];

	append_bytes(path, zeros, sizeof(zeros));
}

/* A header that promises more than the file holds. */
static void
add_long_header(const char *path)
{
	static const unsigned char hdr[HDR] = { 0, 0, 1, 0, 1, 2, 3, 4 };

	append_bytes(path, hdr, sizeof(hdr));
}

static void
test_spool_torn_tail(void **state)
{
	(void)state;
	torn_case(cut_mid_frame);
	teardown(NULL);
	setup(NULL);
	torn_case(cut_mid_header);
	teardown(NULL);
	setup(NULL);
	torn_case(add_garbage);
	teardown(NULL);
	setup(NULL);
	torn_case(add_zeros);
	teardown(NULL);
	setup(NULL);
	torn_case(add_long_header);
}

static void
flip_byte(const char *path, off_t off)
{
	unsigned char	c;
	int		fd;

	assert_true((fd = open(path, O_RDWR)) != -1);
	assert_int_equal(pread(fd, &c, 1, off), 1);
	c ^= 0x20;
	assert_int_equal(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

static void
test_spool_flipped_byte(void **state)
{
	struct spool		*sp;
	struct spool_stats	 st;
	struct seen		 s;
	char			 names[4][128];
	unsigned		 i;

	(void)state;
	sp = open_ok(BIG_SPOOL);
	for (i = 1; i <= 5; i++)
		append(sp, RECORD_USAGE, i, 300, 10);
	sync_ok(sp);
	assert_int_equal(segments(names, 4), 1);

	/* Damage under a running spool is found when the record is read. */
	flip_byte(names[0], 2 * (HDR + 300) + HDR + 100);
	memset(&s, 0, sizeof(s));
	assert_int_equal(spool_read(sp, 0, 100, BIG_SPOOL, collect, &s), -1);
	assert_int_equal(s.count, 2);
	spool_close(sp);

	/* On open, the damaged record and everything after it are cut. */
	sp = open_ok(BIG_SPOOL);
	spool_stats(sp, &st);
	assert_int_equal(st.last_seq, 2);
	read_all(sp, 0, 100, &s);
	assert_int_equal(s.count, 2);
	spool_close(sp);

	/* A flipped bit in a sequence number is caught by the CRC too. */
	flip_byte(names[0], HDR + 300 + 15);
	sp = open_ok(BIG_SPOOL);
	spool_stats(sp, &st);
	assert_int_equal(st.last_seq, 1);
	spool_close(sp);
}

/* Records of 50,000 bytes: 83 fill a segment. */
#define BIG_REC		50000
#define PER_SEG		(SPOOL_SEGMENT_MAX / (HDR + BIG_REC))

static void
test_spool_rotation(void **state)
{
	struct spool		*sp;
	struct spool_stats	 st;
	struct seen		 s;
	char			 names[8][128], want[64];
	unsigned		 i;
	int			 n;

	(void)state;
	sp = open_ok(BIG_SPOOL);
	for (i = 1; i <= 3 * PER_SEG + 10; i++)
		assert_int_equal(append(sp, i % 5 == 0 ? RECORD_HEALTH :
		    RECORD_USAGE, i, BIG_REC, i), i);
	sync_ok(sp);
	assert_int_equal(n = segments(names, 8), 4);
	/* Each segment is named for its first record and stays bounded. */
	for (i = 0; i < 4; i++) {
		snprintf(want, sizeof(want), "/%020u.seg", 1 + i * PER_SEG);
		assert_non_null(strstr(names[i], want));
		assert_true(file_size(names[i]) <= SPOOL_SEGMENT_MAX);
	}
	/* In order across segments, in batches that end anywhere. */
	read_all(sp, 0, 7, &s);
	assert_int_equal(s.count, 3 * PER_SEG + 10);
	for (i = 0; i < s.count; i++)
		assert_int_equal(s.seq[i], i + 1);
	/* And from any point, as after a reconnect. */
	read_all(sp, PER_SEG + 5, 1000, &s);
	assert_int_equal(s.seq[0], PER_SEG + 6);
	assert_int_equal(s.count, 2 * PER_SEG + 5);
	read_all(sp, 2 * PER_SEG, 3, &s);
	assert_int_equal(s.seq[0], 2 * PER_SEG + 1);
	spool_stats(sp, &st);
	assert_int_equal(st.bytes, (3 * PER_SEG + 10) * (HDR + BIG_REC));
	spool_close(sp);
}

static void
read_cursor(char *buf, size_t len)
{
	char	path[128];
	FILE	*f;
	size_t	n;

	snprintf(path, sizeof(path), "%s/cursor", dir);
	assert_non_null(f = fopen(path, "r"));
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void
test_spool_ack(void **state)
{
	struct spool		*sp;
	struct spool_stats	 st;
	struct seen		 s;
	char			 names[8][128], why[256], cur[128];
	unsigned		 i, total = 3 * PER_SEG + 10;
	uint64_t		 mid = PER_SEG + 20;

	(void)state;
	sp = open_ok(BIG_SPOOL);
	for (i = 1; i <= total; i++)
		append(sp, RECORD_USAGE, i, BIG_REC, 1000 + i);
	/* The relay cannot acknowledge what is not yet durable. */
	assert_int_equal(spool_ack(sp, 1, why, sizeof(why)), -1);
	sync_ok(sp);
	assert_int_equal(spool_ack(sp, total + 1, why, sizeof(why)), -1);

	/* Mid second segment: only the first segment is wholly acked. */
	assert_int_equal(spool_ack(sp, mid, why, sizeof(why)), 0);
	assert_int_equal(segments(names, 8), 3);
	assert_non_null(strstr(names[0], "/00000000000000000084.seg"));
	read_cursor(cur, sizeof(cur));
	assert_non_null(strstr(cur, "acked 103\n"));
	spool_stats(sp, &st);
	assert_int_equal(st.acked_seq, mid);
	assert_int_equal(st.depth, total - mid);
	assert_int_equal(st.oldest, 1000 + mid + 1);
	/* An old acknowledgement changes nothing. */
	assert_int_equal(spool_ack(sp, 5, why, sizeof(why)), 0);
	spool_stats(sp, &st);
	assert_int_equal(st.acked_seq, mid);
	/* Reading from the start resends nothing acknowledged. */
	read_all(sp, 0, 50, &s);
	assert_int_equal(s.seq[0], mid + 1);
	assert_int_equal(s.count, total - mid);
	spool_close(sp);

	/* After a restart, neither is anything acknowledged resent. */
	sp = open_ok(BIG_SPOOL);
	spool_stats(sp, &st);
	assert_int_equal(st.acked_seq, mid);
	assert_int_equal(st.depth, total - mid);
	assert_int_equal(st.oldest, 1000 + mid + 1);
	read_all(sp, 0, 50, &s);
	assert_int_equal(s.seq[0], mid + 1);

	/* Everything acknowledged: only the segment appended to stays. */
	assert_int_equal(spool_ack(sp, total, why, sizeof(why)), 0);
	assert_int_equal(segments(names, 8), 1);
	spool_stats(sp, &st);
	assert_int_equal(st.depth, 0);
	assert_int_equal(st.oldest, 0);
	read_all(sp, 0, 50, &s);
	assert_int_equal(s.count, 0);
	spool_close(sp);

	sp = open_ok(BIG_SPOOL);
	spool_stats(sp, &st);
	assert_int_equal(st.depth, 0);
	assert_int_equal(st.last_seq, total);
	assert_int_equal(append(sp, RECORD_USAGE, 1, 200, 1), total + 1);
	sync_ok(sp);
	read_all(sp, 0, 50, &s);
	assert_int_equal(s.count, 1);
	assert_int_equal(s.seq[0], total + 1);
	spool_close(sp);
}

/*
 * An acknowledgement that deletes no segment may leave the cursor behind
 * for a while; a crash then resends records, never loses or skips one,
 * and a clean close catches the cursor up.
 */
static void
test_spool_lazy_cursor(void **state)
{
	struct spool		*sp;
	struct spool_stats	 st;
	struct seen		 s;
	char			 why[256], cur[128];
	pid_t			 pid;
	int			 i, status;

	(void)state;
	sp = open_ok(BIG_SPOOL);
	for (i = 1; i <= 10; i++)
		append(sp, RECORD_USAGE, (unsigned)i, 200, i);
	sync_ok(sp);
	spool_close(sp);

	/* A gateway that crashes after two acknowledgements. */
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		sp = open_ok(BIG_SPOOL);
		/* The first acknowledgement writes the cursor... */
		if (spool_ack(sp, 2, why, sizeof(why)) != 0)
			_exit(1);
		read_cursor(cur, sizeof(cur));
		if (strstr(cur, "acked 2\n") == NULL)
			_exit(2);
		/* ...the next, a moment later and deleting nothing, not. */
		if (spool_ack(sp, 6, why, sizeof(why)) != 0)
			_exit(3);
		spool_stats(sp, &st);
		read_cursor(cur, sizeof(cur));
		_exit(st.acked_seq != 6 ? 4 : strstr(cur, "acked 2\n") ==
		    NULL ? 5 : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* What the crash lost is sent again from 3 on, nothing skipped. */
	sp = open_ok(BIG_SPOOL);
	spool_stats(sp, &st);
	assert_int_equal(st.acked_seq, 2);
	read_all(sp, 0, 50, &s);
	assert_int_equal(s.count, 8);
	assert_int_equal(s.seq[0], 3);
	/* A clean close catches the cursor up. */
	assert_int_equal(spool_ack(sp, 5, why, sizeof(why)), 0);
	assert_int_equal(spool_ack(sp, 7, why, sizeof(why)), 0);
	read_cursor(cur, sizeof(cur));
	assert_non_null(strstr(cur, "acked 5\n"));
	spool_close(sp);
	read_cursor(cur, sizeof(cur));
	assert_non_null(strstr(cur, "acked 7\n"));
	sp = open_ok(BIG_SPOOL);
	read_all(sp, 0, 50, &s);
	assert_int_equal(s.seq[0], 8);
	spool_close(sp);
}

static void
write_cursor(const char *text)
{
	char	path[128];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/cursor", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

/*
 * A spool created in an empty directory (state_dir wiped) takes its
 * numbers from the relay: its waiting records are numbered after what
 * the relay holds, so they are not dropped as duplicates - across a
 * restart too.  So is a spool restored from a copy older than the
 * relay.  A spool that sent the relay's numbers keeps its own.
 */
static void
test_spool_align(void **state)
{
	struct spool		*sp;
	struct spool_stats	 st;
	struct seen		 s;
	char			 why[256], cur[128];
	int			 i;

	(void)state;
	sp = open_ok(BIG_SPOOL);
	read_cursor(cur, sizeof(cur));
	assert_non_null(strstr(cur, "fresh 1\n"));
	for (i = 1; i <= 3; i++)
		assert_int_equal(append(sp, RECORD_USAGE, (unsigned)i, 200, i),
		    i);
	sync_ok(sp);
	spool_close(sp);
	/* Still fresh after a restart: it has not met the relay yet. */
	sp = open_ok(BIG_SPOOL);
	assert_int_equal(spool_align(sp, 100, why, sizeof(why)), 1);
	read_cursor(cur, sizeof(cur));
	assert_non_null(strstr(cur, "base 100\nfresh 0\n"));
	read_all(sp, 0, 50, &s);
	assert_int_equal(s.count, 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(s.seq[i], 101 + i);
		assert_int_equal(s.n[i], 1 + i);
	}
	spool_stats(sp, &st);
	assert_int_equal(st.acked_seq, 100);
	assert_int_equal(st.last_seq, 103);
	assert_int_equal(append(sp, RECORD_USAGE, 4, 200, 4), 104);
	sync_ok(sp);
	/* Once aligned, a relay at or below its numbers moves nothing. */
	assert_int_equal(spool_align(sp, 104, why, sizeof(why)), 0);
	assert_int_equal(spool_align(sp, 7, why, sizeof(why)), 0);
	assert_int_equal(spool_ack(sp, 100, why, sizeof(why)), 0);
	assert_int_equal(spool_ack(sp, 102, why, sizeof(why)), 0);
	assert_int_equal(spool_ack(sp, 105, why, sizeof(why)), -1);
	spool_close(sp);

	/* The numbers survive a restart. */
	sp = open_ok(BIG_SPOOL);
	spool_stats(sp, &st);
	assert_int_equal(st.acked_seq, 102);
	assert_int_equal(st.last_seq, 104);
	read_all(sp, 0, 50, &s);
	assert_int_equal(s.count, 2);
	assert_int_equal(s.seq[0], 103);
	assert_int_equal(s.n[0], 3);
	/* Restored from an old copy: the relay is past its newest number. */
	assert_int_equal(spool_align(sp, 200, why, sizeof(why)), 1);
	read_all(sp, 150, 50, &s);
	assert_int_equal(s.count, 2);
	assert_int_equal(s.seq[0], 201);
	assert_int_equal(s.n[0], 3);
	assert_int_equal(s.seq[1], 202);
	assert_int_equal(s.n[1], 4);
	assert_int_equal(append(sp, RECORD_USAGE, 5, 200, 5), 203);
	spool_close(sp);
}

/* A new spool meeting a relay with nothing stored keeps 1, 2, ... */
static void
test_spool_align_empty_relay(void **state)
{
	struct spool	*sp;
	char		 why[256], cur[128];

	(void)state;
	sp = open_ok(BIG_SPOOL);
	assert_int_equal(append(sp, RECORD_EVENT, 1, 200, 1), 1);
	sync_ok(sp);
	assert_int_equal(spool_align(sp, 0, why, sizeof(why)), 0);
	read_cursor(cur, sizeof(cur));
	assert_non_null(strstr(cur, "base 0\nfresh 0\n"));
	assert_int_equal(append(sp, RECORD_EVENT, 2, 200, 2), 2);
	spool_close(sp);
}

/*
 * A cursor of three lines (written before base and fresh existed) is an
 * aligned spool at base 0; four lines, or a fresh that is not 0 or 1,
 * are not guessed at.
 */
static void
test_spool_cursor_lines(void **state)
{
	struct spool	*sp = NULL;
	char		 err[512], why[256];

	(void)state;
	write_cursor("acked 3\nlast 3\ndropped 0\n");
	sp = open_ok(BIG_SPOOL);
	assert_int_equal(append(sp, RECORD_EVENT, 4, 200, 4), 4);
	sync_ok(sp);
	assert_int_equal(spool_align(sp, 4, why, sizeof(why)), 0);
	spool_close(sp);
	write_cursor("acked 3\nlast 3\ndropped 0\nbase 5\n");
	assert_int_equal(spool_open(dir, BIG_SPOOL, &sp, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "cursor"));
	write_cursor("acked 3\nlast 3\ndropped 0\nbase 5\nfresh 2\n");
	assert_int_equal(spool_open(dir, BIG_SPOOL, &sp, err, sizeof(err)),
	    -1);
	write_cursor("acked 3\nlast 3\ndropped 0\nbase 9223372036854775807"
	    "\nfresh 0\n");
	assert_int_equal(spool_open(dir, BIG_SPOOL, &sp, err, sizeof(err)),
	    -1);
}

static void
test_spool_seq_from_cursor(void **state)
{
	struct spool	*sp;
	char		 names[4][128], why[256];
	int		 i, n;

	(void)state;
	sp = open_ok(BIG_SPOOL);
	for (i = 1; i <= 3; i++)
		append(sp, RECORD_EVENT, (unsigned)i, 200, i);
	sync_ok(sp);
	assert_int_equal(spool_ack(sp, 3, why, sizeof(why)), 0);
	spool_close(sp);
	/* Even with every segment gone, numbers are never reused. */
	n = segments(names, 4);
	for (i = 0; i < n; i++)
		assert_int_equal(unlink(names[i]), 0);
	sp = open_ok(BIG_SPOOL);
	assert_int_equal(append(sp, RECORD_EVENT, 4, 200, 4), 4);
	spool_close(sp);
}

/*
 * The only record is dropped for a new one that a crash then loses:
 * the dropped record's number may have reached the relay, so it must
 * not be handed out again.
 */
static void
test_spool_seq_after_drop(void **state)
{
	struct spool		*sp;
	struct spool_stats	 st;
	char			 names[4][128];
	int			 i, n;

	(void)state;
	sp = open_ok(HDR + RECORD_MAX);
	assert_int_equal(append(sp, RECORD_HEALTH, 1, 40000, 1), 1);
	sync_ok(sp);
	assert_int_equal(append(sp, RECORD_HEALTH, 2, 40000, 2), 2);
	spool_stats(sp, &st);
	assert_int_equal(st.dropped_health, 1);
	assert_int_equal(st.depth, 1);
	spool_close(sp);
	n = segments(names, 4);
	assert_int_equal(n, 1);
	assert_non_null(strstr(names[0], "/00000000000000000002.seg"));
	for (i = 0; i < n; i++)
		assert_int_equal(unlink(names[i]), 0);
	sp = open_ok(HDR + RECORD_MAX);
	spool_stats(sp, &st);
	assert_int_equal(st.dropped_health, 1);
	assert_int_equal(st.depth, 0);
	assert_int_equal(append(sp, RECORD_HEALTH, 3, 40000, 3), 2);
	spool_close(sp);
}

static void
test_spool_bad_open(void **state)
{
	struct spool	*sp = NULL;
	char		 err[512], path[128];
	FILE		*f;

	(void)state;
	assert_int_equal(spool_open(dir, 1000, &sp, err, sizeof(err)), -1);
	assert_non_null(strstr(err, dir));
	/* A cursor we cannot read is not guessed at. */
	snprintf(path, sizeof(path), "%s/cursor", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("acked twelve\n", f);
	fclose(f);
	assert_int_equal(spool_open(dir, BIG_SPOOL, &sp, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "cursor"));
	/* A directory that cannot exist. */
	assert_int_equal(spool_open("/proc/nonexistent/spool", BIG_SPOOL, &sp,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/proc/nonexistent/spool"));
}

/* A spool of 200,000 bytes holds 195 frames of 1,025 bytes. */
#define SMALL_SPOOL	200000
#define SMALL_REC	1000
#define SMALL_FIT	(SMALL_SPOOL / (HDR + SMALL_REC))

static int
try_append(struct spool *sp, enum record_class cls, unsigned n, char *why,
    size_t whylen)
{
	char		buf[SMALL_REC + 1];
	uint64_t	seq;

	mkrec(buf, cls, n, SMALL_REC);
	return spool_append(sp, cls, buf, SMALL_REC, n, &seq, why, whylen);
}

static void
test_spool_full_refuses(void **state)
{
	struct spool		*sp;
	struct spool_stats	 st;
	char			 why[256];
	unsigned		 i;

	(void)state;
	sp = open_ok(SMALL_SPOOL);
	for (i = 1; i <= SMALL_FIT; i++)
		append(sp, RECORD_USAGE, i, SMALL_REC, i);
	sync_ok(sp);
	/* Usage and events are never dropped: they are refused. */
	assert_int_equal(try_append(sp, RECORD_USAGE, 999, why, sizeof(why)),
	    -1);
	assert_string_equal(why, "spool full");
	assert_int_equal(try_append(sp, RECORD_EVENT, 999, why, sizeof(why)),
	    -1);
	assert_string_equal(why, "spool full");
	/* With no health to drop, health is refused as well. */
	assert_int_equal(try_append(sp, RECORD_HEALTH, 999, why, sizeof(why)),
	    -1);
	assert_string_equal(why, "spool full");
	spool_stats(sp, &st);
	assert_int_equal(st.depth, SMALL_FIT);
	assert_int_equal(st.last_seq, SMALL_FIT);
	assert_int_equal(st.dropped_health, 0);

	/* What the relay acknowledged makes room again. */
	assert_int_equal(spool_ack(sp, 50, why, sizeof(why)), 0);
	for (i = 0; i < 50; i++)
		if (try_append(sp, RECORD_USAGE, 1000 + i, why,
		    sizeof(why)) != 0)
			fail_msg("append %u after the ack: %s", i, why);
	assert_int_equal(try_append(sp, RECORD_USAGE, 2000, why, sizeof(why)),
	    -1);
	assert_string_equal(why, "spool full");
	sync_ok(sp);
	spool_stats(sp, &st);
	assert_int_equal(st.depth, SMALL_FIT);
	assert_true(st.bytes <= SMALL_SPOOL);
	assert_int_equal(st.dropped_health, 0);
	spool_close(sp);

	sp = open_ok(SMALL_SPOOL);
	spool_stats(sp, &st);
	assert_int_equal(st.depth, SMALL_FIT);
	assert_int_equal(st.last_seq, SMALL_FIT + 50);
	spool_close(sp);
}

static void
test_spool_full_drops_health(void **state)
{
	struct spool		*sp;
	struct spool_stats	 st;
	struct seen		 s;
	char			 why[256];
	unsigned		 i, usage = 0, health = 0;

	(void)state;
	sp = open_ok(SMALL_SPOOL);
	/* 40 health records, the oldest, then usage up to the brim. */
	for (i = 1; i <= 40; i++)
		append(sp, RECORD_HEALTH, i, SMALL_REC, 10 * i);
	for (; i <= SMALL_FIT; i++)
		append(sp, RECORD_USAGE, i, SMALL_REC, 10 * i);
	sync_ok(sp);

	/* One more health record costs the oldest one. */
	assert_int_equal(append(sp, RECORD_HEALTH, i, SMALL_REC, 10 * i),
	    SMALL_FIT + 1);
	spool_stats(sp, &st);
	assert_int_equal(st.dropped_health, 1);
	assert_int_equal(st.depth, SMALL_FIT);
	assert_int_equal(st.oldest, 20);
	assert_true(st.bytes <= SMALL_SPOOL);
	/* Twenty more cost the next twenty oldest. */
	for (i++; i <= SMALL_FIT + 21; i++)
		append(sp, RECORD_HEALTH, i, SMALL_REC, 10 * i);
	sync_ok(sp);
	spool_stats(sp, &st);
	assert_int_equal(st.dropped_health, 21);
	assert_int_equal(st.depth, SMALL_FIT);
	assert_int_equal(st.oldest, 220);

	/* Every usage record is there, in order; the oldest health not. */
	read_all(sp, 0, 64, &s);
	assert_int_equal(s.count, SMALL_FIT);
	assert_int_equal(s.seq[0], 22);
	for (i = 0; i < s.count; i++) {
		if (i > 0)
			assert_true(s.seq[i] > s.seq[i - 1]);
		if (s.cls[i] == RECORD_USAGE)
			usage++;
		else
			health++;
	}
	assert_int_equal(usage, SMALL_FIT - 40);
	assert_int_equal(health, 40);
	spool_close(sp);

	/* The count of drops and the numbering survive a restart. */
	sp = open_ok(SMALL_SPOOL);
	spool_stats(sp, &st);
	assert_int_equal(st.dropped_health, 21);
	assert_int_equal(st.depth, SMALL_FIT);
	assert_int_equal(st.last_seq, SMALL_FIT + 21);
	assert_int_equal(st.oldest, 220);
	assert_int_equal(append(sp, RECORD_HEALTH, 7, SMALL_REC, 7),
	    SMALL_FIT + 22);
	spool_stats(sp, &st);
	assert_int_equal(st.dropped_health, 22);

	/*
	 * A usage record or an event costs the oldest health records too
	 * (a sixteenth of the spool at once), and is itself never dropped.
	 */
	assert_int_equal(try_append(sp, RECORD_USAGE, 999, why, sizeof(why)),
	    0);
	assert_int_equal(try_append(sp, RECORD_EVENT, 998, why, sizeof(why)),
	    0);
	sync_ok(sp);
	spool_stats(sp, &st);
	assert_true(st.dropped_health >= 22 + SMALL_SPOOL / 16 /
	    (HDR + SMALL_REC));
	assert_true(st.bytes <= SMALL_SPOOL);
	read_all(sp, 0, 64, &s);
	for (i = 0, usage = 0; i < s.count; i++)
		usage += s.cls[i] != RECORD_HEALTH;
	assert_int_equal(usage, SMALL_FIT - 40 + 2);
	spool_close(sp);
}

/* Health only: every old health record may go, the newest stays. */
static void
test_spool_health_latest_wins(void **state)
{
	struct spool		*sp;
	struct spool_stats	 st;
	struct seen		 s;
	unsigned		 i;

	(void)state;
	sp = open_ok(SMALL_SPOOL);
	for (i = 1; i <= 3 * SMALL_FIT; i++)
		assert_int_equal(append(sp, RECORD_HEALTH, i, SMALL_REC, i), i);
	sync_ok(sp);
	spool_stats(sp, &st);
	assert_int_equal(st.dropped_health, 2 * SMALL_FIT);
	assert_int_equal(st.depth, SMALL_FIT);
	read_all(sp, 0, 100, &s);
	assert_int_equal(s.count, SMALL_FIT);
	assert_int_equal(s.seq[0], 2 * SMALL_FIT + 1);
	assert_int_equal(s.seq[s.count - 1], 3 * SMALL_FIT);
	spool_close(sp);
}

static void
test_spool_stats(void **state)
{
	struct spool		*sp;
	struct spool_stats	 st;
	char			 names[4][128], why[256];

	(void)state;
	sp = open_ok(BIG_SPOOL);
	spool_stats(sp, &st);
	assert_int_equal(st.depth, 0);
	assert_int_equal(st.bytes, 0);
	assert_int_equal(st.oldest, 0);
	assert_int_equal(st.last_seq, 0);
	append(sp, RECORD_USAGE, 1, 200, 1000);
	append(sp, RECORD_HEALTH, 2, 300, 2000);
	append(sp, RECORD_EVENT, 3, 400, 3000);
	spool_stats(sp, &st);
	assert_int_equal(st.depth, 3);
	assert_int_equal(st.oldest, 1000);
	assert_int_equal(st.last_seq, 3);
	assert_int_equal(st.acked_seq, 0);
	assert_int_equal(st.bytes, 3 * HDR + 900);
	assert_int_equal(segments(names, 4), 1);
	assert_int_equal(file_size(names[0]), (off_t)st.bytes);
	sync_ok(sp);
	assert_int_equal(spool_ack(sp, 1, why, sizeof(why)), 0);
	spool_stats(sp, &st);
	assert_int_equal(st.depth, 2);
	assert_int_equal(st.oldest, 2000);
	assert_int_equal(st.acked_seq, 1);
	assert_int_equal(spool_ack(sp, 3, why, sizeof(why)), 0);
	spool_stats(sp, &st);
	assert_int_equal(st.depth, 0);
	assert_int_equal(st.oldest, 0);
	append(sp, RECORD_EVENT, 4, 400, 4000);
	spool_stats(sp, &st);
	assert_int_equal(st.depth, 1);
	assert_int_equal(st.oldest, 4000);
	spool_close(sp);
}

/* Damage in an older segment: reported, the rest still delivered. */
static void
test_spool_damaged_old_segment(void **state)
{
	struct spool		*sp;
	struct spool_stats	 st;
	struct seen		 s;
	char			 names[8][128];
	unsigned		 i, total = PER_SEG + 10;

	(void)state;
	sp = open_ok(BIG_SPOOL);
	for (i = 1; i <= total; i++)
		append(sp, RECORD_USAGE, i, BIG_REC, i);
	sync_ok(sp);
	spool_close(sp);
	assert_int_equal(segments(names, 8), 2);
	/* Record 31's payload, in the first segment. */
	flip_byte(names[0], 30 * (HDR + BIG_REC) + HDR + 5);

	sp = open_ok(BIG_SPOOL);
	spool_stats(sp, &st);
	/* Records 31..83 cannot be read; the second segment is whole. */
	assert_int_equal(st.depth, total - (PER_SEG - 30));
	assert_int_equal(st.last_seq, total);
	read_all(sp, 0, 10, &s);
	assert_int_equal(s.count, total - (PER_SEG - 30));
	assert_int_equal(s.seq[29], 30);
	assert_int_equal(s.seq[30], PER_SEG + 1);
	assert_int_equal(append(sp, RECORD_USAGE, 0, 200, 1), total + 1);
	spool_close(sp);
}

/* The offline rule at its boundaries, second by second. */
static void
test_license_offline_rule(void **state)
{
	static const struct {
		const char	*type;
		int64_t		 offline;	/* seconds since contact */
		int64_t		 days;
		int		 exceeded;
	} t[] = {
		{ "full", 0, 0, 0 },
		{ "full", 86399, 0, 0 },
		{ "full", 86400, 1, 0 },
		{ "full", 14 * 86400 - 1, 13, 0 },
		{ "full", 14 * 86400, 14, 1 },
		{ "full", 14 * 86400 + 1, 14, 1 },
		{ "full", 365 * 86400, 365, 1 },
		{ "trial", 7 * 86400 - 1, 6, 0 },
		{ "trial", 7 * 86400, 7, 1 },
		{ "trial", 13 * 86400, 13, 1 },
		/* Unknown until the relay first answered: the full rule. */
		{ "", 7 * 86400, 7, 0 },
		{ "", 14 * 86400, 14, 1 },
		{ NULL, 14 * 86400 - 1, 13, 0 },
		/* A clock that went back is not time offline. */
		{ "full", -86400 * 30, 0, 0 },
		{ "trial", -1, 0, 0 },
	};
	const time_t	now = 1795000000;
	size_t		i;

	(void)state;
	assert_int_equal(license_offline_limit("full"), 14);
	assert_int_equal(license_offline_limit("trial"), 7);
	assert_int_equal(license_offline_limit("TRIAL"), 14);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		print_message("offline case %zu\n", i);
		assert_int_equal(license_offline_days(now - t[i].offline, now),
		    t[i].days);
		assert_int_equal(license_offline_exceeded(t[i].type,
		    now - t[i].offline, now), t[i].exceeded);
	}
}

/* ---- the outbox ---- */

/* What outbox_read() gave, as one line per frame. */
static int
outbox_line(void *arg, uint64_t seq, int kind, time_t when, const char *rec,
    size_t len)
{
	char	*buf = arg;
	size_t	 n = strlen(buf);

	snprintf(buf + n, 4096 - n, "%llu %d %lld %.*s\n",
	    (unsigned long long)seq, kind, (long long)when, (int)len, rec);
	return 0;
}

static void
outbox_dump(char *buf)
{
	char why[256];

	buf[0] = '\0';
	if (outbox_read(dir, outbox_line, buf, why, sizeof(why)) == -1)
		fail_msg("outbox_read: %s", why);
}

static void
test_outbox(void **state)
{
	struct outbox	*ob;
	char		 err[256], buf[4096], path[128];
	FILE		*f;

	(void)state;
	assert_int_equal(outbox_open(dir, 86400, 1 << 20, &ob, err,
	    sizeof(err)), 0);
	assert_int_equal(outbox_record(ob, 5, RECORD_USAGE, "{\"a\":1}", 7,
	    1000), 0);
	assert_int_equal(outbox_record(ob, 6, RECORD_EVENT, "{ \"b\" : 2 }",
	    11, 1001), 0);
	/* Sent again after a reconnect: one copy is enough. */
	assert_int_equal(outbox_record(ob, 6, RECORD_EVENT, "{\"x\":0}", 7,
	    1002), 0);
	assert_int_equal(outbox_ack(ob, 6, 1003), 0);
	assert_int_equal(outbox_ack(ob, 5, 1004), 0);
	/* Nothing is on disk before the flush. */
	outbox_dump(buf);
	assert_string_equal(buf, "");
	assert_int_equal(outbox_flush(ob, err, sizeof(err)), 0);
	outbox_close(ob);
	outbox_dump(buf);
	assert_string_equal(buf, "5 1 1000 {\"a\":1}\n"
	    "6 2 1001 { \"b\" : 2 }\n6 65 1003 \n");

	/* A torn frame at the end: readers stop there, open cuts it off. */
	snprintf(path, sizeof(path), "%s/00000000000000000001.out", dir);
	assert_non_null(f = fopen(path, "a"));
	fwrite("\0\0\0\x07garbage", 1, 11, f);
	fclose(f);
	outbox_dump(buf);
	assert_string_equal(buf, "5 1 1000 {\"a\":1}\n"
	    "6 2 1001 { \"b\" : 2 }\n6 65 1003 \n");
	assert_int_equal(outbox_open(dir, 86400, 1 << 20, &ob, err,
	    sizeof(err)), 0);
	/* The newest seq was found again: 6 is not recorded twice. */
	assert_int_equal(outbox_record(ob, 6, RECORD_EVENT, "{}", 2, 1005), 0);
	assert_int_equal(outbox_record(ob, 7, RECORD_HEALTH, "{}", 2, 1006),
	    0);
	assert_int_equal(outbox_flush(ob, err, sizeof(err)), 0);
	outbox_close(ob);
	outbox_dump(buf);
	assert_string_equal(buf, "5 1 1000 {\"a\":1}\n"
	    "6 2 1001 { \"b\" : 2 }\n6 65 1003 \n7 3 1006 {}\n");

	/* A flipped byte: that frame and the rest of its file are not read. */
	assert_non_null(f = fopen(path, "r+"));
	fseek(f, 25 + 7 + 30, SEEK_SET);
	fputc('X', f);
	fclose(f);
	outbox_dump(buf);
	assert_string_equal(buf, "5 1 1000 {\"a\":1}\n");

	/* max 0: the customer keeps no copy; nothing is written. */
	assert_int_equal(outbox_open(dir, 86400, 0, &ob, err, sizeof(err)),
	    0);
	assert_int_equal(outbox_record(ob, 9, RECORD_USAGE, "{}", 2, 1), 0);
	assert_int_equal(outbox_flush(ob, err, sizeof(err)), 0);
	outbox_close(ob);
	outbox_dump(buf);
	assert_string_equal(buf, "5 1 1000 {\"a\":1}\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_table),
		cmocka_unit_test_setup_teardown(test_outbox, setup, teardown),
		cmocka_unit_test(test_record_bounds),
		cmocka_unit_test(test_record_fields_kept),
		cmocka_unit_test(test_frame_splits),
		cmocka_unit_test(test_frame_encode),
		cmocka_unit_test(test_frame_errors),
		cmocka_unit_test(test_frame_classify),
		cmocka_unit_test(test_license_offline_rule),
		cmocka_unit_test_setup_teardown(test_spool_append_read,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_format,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_reopen,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_torn_tail,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_flipped_byte,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_rotation,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_lazy_cursor,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_ack,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_seq_from_cursor,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_align,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_align_empty_relay,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_cursor_lines,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_seq_after_drop,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_bad_open,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_full_refuses,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_full_drops_health,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_health_latest_wins,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_stats,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_damaged_old_segment,
		    setup, teardown),
	};

	log_init("test_telemetry", 1, LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
