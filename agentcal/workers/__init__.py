"""Background workers: the job processor, the preference emitter and the daemon joining both."""
