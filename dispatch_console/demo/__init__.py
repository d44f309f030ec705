"""The demo street 桃源街道: its seed plan and the demo database."""
