/*
 * testhook.h - points where a test may kill the daemon, to see what a
 * restart finds after a crash at that very step.
 */
#ifndef PH_TESTHOOK_H
#define PH_TESTHOOK_H

/*
 * In a build configured with --enable-test-hooks, SIGKILL the process
 * when PORTHOLE_TEST_KILL_AT names step: nothing after it runs, as with
 * kill -9 at that moment.  Elsewhere it does nothing.
 */
void	testhook_kill_at(const char *step);

#endif
