/*
 * license.h - the offline rule, shared by the gateway (which applies it)
 * and the relay (which shows it): after too many whole days without
 * contact with Mission Control, licensing overages are disabled.
 */
#ifndef PH_LICENSE_H
#define PH_LICENSE_H

#include <stdint.h>
#include <time.h>

#define LICENSE_OFFLINE_FULL	14	/* days before overages go off */
#define LICENSE_OFFLINE_TRIAL	7

/* Whole days from last_contact to now; 0 if now is not later. */
int64_t	license_offline_days(time_t last_contact, time_t now);
/* The limit for a license type: "trial" 7, anything else 14. */
int	license_offline_limit(const char *type);
/* Offline for the limit or longer: overages are off. */
int	license_offline_exceeded(const char *type, time_t last_contact,
	    time_t now);

#endif
