# Stand-in for wandb's `wandb.sdk` package, written for sweep's tests.
