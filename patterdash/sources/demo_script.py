"""Conversation scripts and price lists for the demo simulator (data only, no logic)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["AGENT_NUMBERS", "AREA_CODES", "PRICES", "SCENARIOS", "Line", "Scenario"]


@dataclass(frozen=True)
class Line:
    """One user -> agent exchange, optionally with a tool the agent calls."""

    user: str
    agent: str
    tool: str = ""
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    """A kind of call the agent handles: its greeting and its exchanges."""

    name: str
    greeting: str
    lines: tuple[Line, ...]


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "dental_booking",
        "Thanks for calling Bright Smile Dental, this is Ava. How can I help you today?",
        (
            Line("Hi, I'd like to book a cleaning.", "Of course. Are you an existing patient with us?"),
            Line(
                "Yes, the name is Jordan Miles.",
                "Thanks Jordan, I found your file. Which day works best for you?",
                "lookup_patient",
                {"name": "Jordan Miles"},
            ),
            Line(
                "Something next Tuesday afternoon.",
                "I have 2:30 or 4:15 next Tuesday. Which would you prefer?",
                "find_slots",
                {"day": "tuesday", "part": "afternoon"},
            ),
            Line(
                "2:30 is perfect.",
                "Done: you're booked for a cleaning next Tuesday at 2:30.",
                "book_slot",
                {"slot": "tue-14:30"},
            ),
            Line("Do I need to bring anything?", "Just your insurance card, and please arrive ten minutes early."),
            Line("Great, thank you.", "You're welcome Jordan. See you Tuesday!"),
        ),
    ),
    Scenario(
        "order_status",
        "Hi, you've reached Northwind Outfitters support. What can I do for you?",
        (
            Line(
                "Where is my order? It's been a week.", "I'm sorry about the wait. Could you read me the order number?"
            ),
            Line(
                "It's N W four four eight one two.",
                "Thanks. Order NW44812 shipped Monday and is out for delivery today.",
                "get_order",
                {"order_id": "NW44812"},
            ),
            Line("Can you send me the tracking link?", "Sure, I've just texted the tracking link to this number."),
            Line(
                "And if I'm not home?",
                "The driver will leave it at the door, or you can pick a safe place in the link.",
            ),
            Line("Okay, that's all.", "Thanks for shopping with Northwind. Have a great day!"),
        ),
    ),
    Scenario(
        "billing_question",
        "Good afternoon, Lumen Energy billing. Who am I speaking with?",
        (
            Line("This is Priya Shah, my bill doubled this month.", "I can look into that, Priya. One moment please."),
            Line(
                "Sure.",
                "Your usage went up in the cold snap, and last month's bill was an estimate.",
                "get_account",
                {"customer": "Priya Shah"},
            ),
            Line(
                "Can I spread the payment out?",
                "Yes, I can split it over three months with no fee. Shall I set that up?",
            ),
            Line(
                "Yes please.",
                "All set: three payments of forty-two dollars starting on the first.",
                "create_payment_plan",
                {"installments": 3},
            ),
            Line("Thank you so much.", "My pleasure. Is there anything else I can help with?"),
            Line("No, that's it.", "Take care, Priya. Goodbye!"),
        ),
    ),
    Scenario(
        "restaurant_reservation",
        "Hello, Trattoria Sole, this is the reservations assistant.",
        (
            Line("Hi, a table for four tomorrow at eight?", "Let me check tomorrow at eight for four guests."),
            Line(
                "Okay.",
                "Eight is full, but I can offer seven forty-five or eight thirty.",
                "check_availability",
                {"party": 4, "time": "20:00"},
            ),
            Line(
                "Eight thirty then.",
                "Booked for four at eight thirty. May I have a name?",
                "reserve",
                {"time": "20:30"},
            ),
            Line("Under Costa.", "Thank you, Mr. Costa. Any allergies we should know about?"),
            Line("One of us is gluten free.", "Noted, the kitchen will be ready. See you tomorrow!"),
        ),
    ),
    Scenario(
        "appointment_reminder",
        "Hi, this is an automated reminder from Oak Street Clinic about your visit on Friday.",
        (
            Line("Oh right, what time was it?", "Your appointment is Friday at 9:40 in the morning with Dr. Reyes."),
            Line(
                "Can I move it to the afternoon?",
                "Let me look. Friday at 3:20 is open.",
                "find_slots",
                {"day": "friday"},
            ),
            Line(
                "Yes, 3:20 works.",
                "Moved to Friday at 3:20. You'll get a text confirmation.",
                "reschedule",
                {"to": "15:20"},
            ),
            Line("Thanks.", "Thank you, goodbye!"),
        ),
    ),
)

AGENT_NUMBERS: dict[str, tuple[str, ...]] = {
    "inbound": ("+14155550100", "+14155550101", "+12125550140"),
    "outbound": ("+14155550190", "+13125550177"),
}
AREA_CODES: tuple[str, ...] = ("212", "312", "415", "503", "617", "646", "702", "737", "917")

# USD list prices of the simulated providers (close to 2025 public prices).
PRICES: dict[str, float] = {
    "stt_per_minute": 0.0043,  # deepgram nova-3 streaming
    "tts_per_char": 0.00005,  # elevenlabs flash
    "llm_input_per_token": 0.15 / 1_000_000,  # gpt-4o-mini
    "llm_output_per_token": 0.60 / 1_000_000,
    "inbound_per_minute": 0.0085,  # twilio voice
    "outbound_per_minute": 0.014,
}
