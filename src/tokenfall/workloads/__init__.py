"""What is sent (prompts) and when (arrival schedules)."""
