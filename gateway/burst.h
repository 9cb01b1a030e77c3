/*
 * burst.h - the burst counter moved to lib/burst.h, where the relay
 * shares it.  gateway/broker.c still includes it by this name; drop
 * this file when broker.c includes lib/burst.h.
 */
#include "lib/burst.h"
