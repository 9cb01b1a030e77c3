/*
 * bundles_upload.c - support bundles up the control channel.
 */
#include "gateway/bundles_int.h"

#include <string.h>
#include <unistd.h>

json_t *
bundles_upload_next(struct bundles *bs)
{
	(void)bs;
	return NULL;
}

int
bundles_upload_ack(struct bundles *bs, json_t *f, char *why, size_t whylen)
{
	(void)bs;
	(void)f;
	(void)why;
	(void)whylen;
	return 0;
}

void
bundles_link_down(struct bundles *bs)
{
	bs->up_waiting = 0;
	bs->up_begun = 0;
}

void
upload_forget(struct bundles *bs, const char *id)
{
	if (id == NULL || strcmp(bs->up_id, id) != 0)
		return;
	if (bs->up_fd != -1)
		close(bs->up_fd);
	bs->up_fd = -1;
	bs->up_id[0] = '\0';
	bs->up_waiting = bs->up_begun = 0;
}
