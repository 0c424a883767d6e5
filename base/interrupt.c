/* interrupt.c - see include/base/interrupt.h */
#include "base/interrupt.h"

#include <string.h>

static volatile sig_atomic_t interrupts;

void sw_interrupt_raise(void)
{
	if (interrupts < 2)
		interrupts++;
}

volatile sig_atomic_t *sw_interrupt_flag(void)
{
	return &interrupts;
}

static void on_signal(int sig)
{
	(void)sig;
	sw_interrupt_raise();
}

void sw_interrupt_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* a closed terminal stops the sweep as Ctrl-C does, unless the user
	 * asked to survive it (nohup leaves SIGHUP ignored) */
	{
		struct sigaction old;

		if (!sigaction(SIGHUP, NULL, &old) && old.sa_handler != SIG_IGN)
			sigaction(SIGHUP, &sa, NULL);
	}
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}
