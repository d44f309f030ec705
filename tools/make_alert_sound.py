"""Write resources/sounds/alert.wav: a short two-tone alert (no download, Python's wave module).

Run once after changing the tones: ``.venv/bin/python tools/make_alert_sound.py``; the WAV is
committed so the console never generates sound at run time.
"""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

RATE = 22_050
TONES = ((960.0, 0.25), (770.0, 0.25)) * 3  # Hz, seconds: the familiar two-tone alarm
VOLUME = 0.6
FADE = 0.01  # seconds of fade in/out per tone, so the tones do not click

OUT = Path(__file__).resolve().parents[1] / "resources" / "sounds" / "alert.wav"


def samples() -> list[int]:
    out: list[int] = []
    for freq, length in TONES:
        count = int(RATE * length)
        fade = int(RATE * FADE)
        for i in range(count):
            envelope = min(1.0, i / fade, (count - 1 - i) / fade)
            value = VOLUME * envelope * math.sin(2 * math.pi * freq * i / RATE)
            out.append(int(value * 32767))
    return out


def main() -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    data = samples()
    with wave.open(str(OUT), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(struct.pack(f"<{len(data)}h", *data))
    print(OUT)


if __name__ == "__main__":
    main()
