/*
 * interrupt.h - Ctrl-C for the whole process: one counter that SIGINT,
 * SIGTERM and SIGHUP raise (1 after the first, 2 after the second and later), read by
 * the controller, the agent, the HTTP client's stop flag and downloads.
 * Commands install it once; library code only reads it.
 *
 * defines: sw_interrupt_install, sw_interrupt_raise, sw_interrupt_flag
 */
#ifndef SW_INTERRUPT_H
#define SW_INTERRUPT_H

#include <signal.h>

/* Routes SIGINT, SIGTERM and SIGHUP (unless SIGHUP is already ignored, as
 * under nohup) to sw_interrupt_raise() (no SA_RESTART, so blocking calls
 * return EINTR) and ignores SIGPIPE. */
void sw_interrupt_install(void);

/* Async-signal-safe: counts one interrupt (up to 2). */
void sw_interrupt_raise(void);

/* The counter: 0 until the first interrupt. Suits struct sw_http.stop. */
volatile sig_atomic_t *sw_interrupt_flag(void);

#endif
