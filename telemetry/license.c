/*
 * license.c - the offline rule.
 */
#include "telemetry/license.h"

#include <string.h>

#define DAY	86400

int64_t
license_offline_days(time_t last_contact, time_t now)
{
	return now > last_contact ? (int64_t)(now - last_contact) / DAY : 0;
}

int
license_offline_limit(const char *type)
{
	return type != NULL && strcmp(type, "trial") == 0 ?
	    LICENSE_OFFLINE_TRIAL : LICENSE_OFFLINE_FULL;
}

int
license_offline_exceeded(const char *type, time_t last_contact, time_t now)
{
	return license_offline_days(last_contact, now) >=
	    license_offline_limit(type);
}
