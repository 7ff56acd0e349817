"""Colours that colour-blind viewers can tell apart: the Okabe-Ito palette.

Okabe and Ito chose eight colours that stay distinct under the common forms of colour
blindness. Colour is never the only cue here: terms are also written as numbers, roles
as words, committed entries also differ in fill and hatching.
"""

from __future__ import annotations

BLACK = "#000000"
ORANGE = "#E69F00"
SKY_BLUE = "#56B4E9"
BLUISH_GREEN = "#009E73"
YELLOW = "#F0E442"
BLUE = "#0072B2"
VERMILLION = "#D55E00"
REDDISH_PURPLE = "#CC79A7"
GREY = "#999999"
LIGHT_GREY = "#DDDDDD"

#: Term colours, cycled by term number (term 1 is the first colour).
TERM_COLOURS = (SKY_BLUE, ORANGE, BLUISH_GREEN, YELLOW, BLUE, VERMILLION, REDDISH_PURPLE)
#: Text written on a term colour: white on the dark ones, black on the light ones.
TERM_TEXT_COLOURS = (BLACK, BLACK, "#FFFFFF", BLACK, "#FFFFFF", "#FFFFFF", BLACK)

ROLE_COLOURS = {
    "follower": SKY_BLUE,
    "candidate": ORANGE,
    "precandidate": YELLOW,  # PreVote (thesis §9.6)
    "leader": BLUISH_GREEN,
    "down": GREY,
}

#: One colour per server for the timelines (server 1 is the first colour).
SERVER_COLOURS = (BLUE, ORANGE, BLUISH_GREEN, VERMILLION, REDDISH_PURPLE, SKY_BLUE, BLACK)

#: Message kinds on the ring and the space-time diagram: (label, what it is, colour). A
#: reply has its request's colour; its shape tells it apart (``flights.message_shape``).
#: A pre-vote is not a vote (thesis §9.6), TimeoutNow starts a transfer (§3.10),
#: InstallSnapshot carries a snapshot (§7).
MESSAGE_KINDS = (
    ("AE", "AppendEntries (§5.3)", BLUE),
    ("RV", "RequestVote (§5.2)", ORANGE),
    ("pre-RV", "pre-vote (thesis §9.6)", REDDISH_PURPLE),
    ("IS", "InstallSnapshot (§7)", BLUISH_GREEN),
    ("TimeoutNow", "leadership transfer (thesis §3.10)", VERMILLION),
)
MESSAGE_COLOURS = {label: colour for label, _, colour in MESSAGE_KINDS}
#: The shapes (bokeh markers) of messages: (marker, what it means).
MESSAGE_SHAPES = (
    ("circle", "request"),
    ("square", "reply"),
    ("square_x", "reply: no"),
)


def term_colour(term: int) -> str:
    """The fill colour of term ``term`` (terms start at 1; term 0 is grey)."""
    if term <= 0:
        return LIGHT_GREY
    return TERM_COLOURS[(term - 1) % len(TERM_COLOURS)]


def term_text_colour(term: int) -> str:
    if term <= 0:
        return BLACK
    return TERM_TEXT_COLOURS[(term - 1) % len(TERM_TEXT_COLOURS)]


def server_colour(server_id: int) -> str:
    return SERVER_COLOURS[(server_id - 1) % len(SERVER_COLOURS)]


def message_colour(label: str) -> str:
    """The colour of a message with this label, a reply's that of its request (grey
    for a message the palette does not know)."""
    return MESSAGE_COLOURS.get(label.removesuffix(" reply"), GREY)
