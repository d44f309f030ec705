"""Views of the channels (WeCom, DingTalk, SMS): the "channel down" warning."""
