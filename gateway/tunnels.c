/*
 * tunnels.c - one tunnel per relay.
 */
#include "gateway/tunnels.h"

#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/parse.h"

struct tunnels {
	struct tunnel	**t;
	size_t		  n;
};

struct tunnels *
tunnels_new(struct event_base *base, const struct policy *pol,
    struct keyagent *ka, tunnel_channel_cb on_channel, tunnel_poll_cb on_poll,
    tunnel_down_cb on_down, void *arg)
{
	struct tunnels	*ts;
	size_t		 i;

	if ((ts = calloc(1, sizeof(*ts))) == NULL ||
	    (ts->t = calloc(pol->nrelays, sizeof(*ts->t))) == NULL) {
		free(ts);
		return NULL;
	}
	for (ts->n = 0; ts->n < pol->nrelays; ts->n++) {
		i = ts->n;
		if ((ts->t[i] = tunnel_new(base, pol, i, ka, on_channel,
		    on_poll, on_down, arg)) == NULL) {
			tunnels_free(ts);
			return NULL;
		}
	}
	return ts;
}

void
tunnels_start(struct tunnels *ts)
{
	size_t i;

	for (i = 0; i < ts->n; i++)
		tunnel_start(ts->t[i]);
}

size_t
tunnels_count(const struct tunnels *ts)
{
	return ts->n;
}

struct tunnel *
tunnels_get(struct tunnels *ts, size_t i)
{
	return i < ts->n ? ts->t[i] : NULL;
}

struct tunnel *
tunnels_pick(struct tunnels *ts, const struct tunnel *not)
{
	size_t i;

	for (i = 0; i < ts->n; i++)
		if (ts->t[i] != not && tunnel_is_up(ts->t[i]))
			return ts->t[i];
	return NULL;
}

void
tunnels_want_write(void *arg)
{
	struct tunnels	*ts = arg;
	size_t		 i;

	for (i = 0; i < ts->n; i++)
		tunnel_want_write(ts->t[i]);
}

/* Does pol list the relays the tunnels go to, in their order? */
static int
same_relays(const struct tunnels *ts, const struct policy *pol)
{
	size_t i;

	if (ts->n != pol->nrelays)
		return 0;
	for (i = 0; i < ts->n; i++)
		if (!tunnel_is_to(ts->t[i], &pol->relays[i]))
			return 0;
	return 1;
}

void
tunnels_set_policy(struct tunnels *ts, const struct policy *pol)
{
	size_t i;

	/* Each tunnel keeps its relay's address until the restart. */
	if (!same_relays(ts, pol))
		log_warn("%s: [gateway] relay takes effect at restart; the "
		    "tunnels stay with the relays they have", pol->path);
	for (i = 0; i < ts->n; i++)
		tunnel_set_policy(ts->t[i], pol);
}

json_t *
tunnels_status(struct tunnels *ts)
{
	json_t		*list = json_array(), *o;
	const char	*why;
	char		 since_s[32];
	time_t		 since;
	size_t		 i;

	for (i = 0; list != NULL && i < ts->n; i++) {
		why = tunnel_last_error(ts->t[i], &since);
		since_s[0] = '\0';
		if (since != 0)
			parse_format_time(since, since_s, sizeof(since_s));
		o = json_pack("{s:s, s:s, s:s, s:s}", "relay",
		    tunnel_name(ts->t[i]), "tunnel", tunnel_is_up(ts->t[i]) ?
		    "up" : "down", "since", since_s, "error",
		    tunnel_is_up(ts->t[i]) ? "" : why);
		if (o == NULL || json_array_append_new(list, o) == -1) {
			json_decref(list);
			return NULL;
		}
	}
	return list;
}

void
tunnels_free(struct tunnels *ts)
{
	size_t i;

	if (ts == NULL)
		return;
	for (i = 0; i < ts->n; i++)
		tunnel_free(ts->t[i]);
	free(ts->t);
	free(ts);
}
