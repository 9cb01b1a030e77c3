/*
 * fuzz_frame.c - libFuzzer target for the control channel's frame
 * reader and the telemetry record validator, the two parsers a peer or
 * a local producer can reach.  Any byte stream, cut into pieces of any
 * size, must give whole frames or a protocol error, never a crash, a
 * leak or a read out of bounds.  Every frame that comes out must encode
 * again into a frame that reads back equal, and its JSON, and that of
 * each record it carries, goes through record_parse(), whose reason
 * must be one printable line.
 *
 * The first input byte chooses how the rest is cut: 0 all at once, n
 * pieces of n bytes.  The rest is also handed to record_parse() as it
 * is, so the validator is reached without a frame around it.
 *
 * ./configure --enable-fuzzing CC=clang && make tests/fuzz/fuzz_frame
 * tests/fuzz/fuzz_frame -max_total_time=60 NEW_DIR tests/fuzz/corpus_frame
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "telemetry/frame.h"
#include "telemetry/record.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Validate one record's text; a reason must be one printable line. */
static void
check_record(const char *text, size_t len)
{
	enum record_class	 cls;
	json_t			*rec = NULL;
	const char		*name;
	char			 why[256];
	size_t			 i;

	why[0] = '\0';
	if (record_parse(text, len, &rec, &cls, why, sizeof(why)) == 0) {
		/* What was accepted names its class, and the same one. */
		name = json_string_value(json_object_get(rec, "class"));
		if (name == NULL || strcmp(name, record_class_name(cls)) != 0)
			abort();
		json_decref(rec);
		return;
	}
	if (rec != NULL || why[0] == '\0')
		abort();
	for (i = 0; why[i] != '\0'; i++)
		if ((unsigned char)why[i] < 0x20 ||
		    (unsigned char)why[i] > 0x7e)
			abort();
}

static void
check_json(json_t *j)
{
	char	*text;

	if ((text = json_dumps(j, JSON_COMPACT)) == NULL)
		return;
	check_record(text, strlen(text));
	free(text);
}

/* A frame read back must encode, and that encoding read back equal. */
static void
check_roundtrip(json_t *obj)
{
	struct frame_reader	*r;
	json_t			*again = NULL;
	char			*buf;
	size_t			 len;

	/* Compact output can outgrow the input ("1e5" is 100000.0). */
	if (frame_encode(obj, &buf, &len) == -1)
		return;
	if ((r = frame_reader_new()) == NULL)
		abort();
	if (frame_reader_feed(r, buf, len) != 0 ||
	    frame_reader_next(r, &again) != 1 || !json_equal(obj, again))
		abort();
	json_decref(again);
	frame_reader_free(r);
	free(buf);
}

static void
check_frame(json_t *obj)
{
	json_t	*recs, *item;
	size_t	 i;

	check_roundtrip(obj);
	check_json(obj);
	if ((recs = json_object_get(obj, "records")) == NULL)
		return;
	json_array_foreach(recs, i, item)
		if (json_is_object(item) &&
		    json_object_get(item, "record") != NULL)
			check_json(json_object_get(item, "record"));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame_reader	*r;
	json_t			*obj;
	size_t			 step, off, n;
	int			 rc = 0;

	if (size == 0)
		return 0;
	step = data[0] == 0 ? size : data[0];
	data++;
	size--;
	check_record((const char *)data, size);
	if ((r = frame_reader_new()) == NULL)
		return 0;
	for (off = 0; off < size && rc != -1; off += n) {
		n = size - off < step ? size - off : step;
		if (frame_reader_feed(r, data + off, n) == -1)
			break;
		while ((rc = frame_reader_next(r, &obj)) == 1) {
			check_frame(obj);
			json_decref(obj);
		}
	}
	frame_reader_free(r);
	return 0;
}
