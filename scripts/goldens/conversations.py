"""Conversations rendered through every chat template by make_template_goldens.py.

They cover: system prompts, multi-turn chats, assistant turns with <think> blocks (and a
reasoning_content field), unicode and emoji, empty and whitespace-only content, template-like and
special-token text inside messages, and tool definitions / tool calls / tool responses.
"""

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. Zürich"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
}

CALC_TOOL = {
    "type": "function",
    "function": {
        "name": "add",
        "description": "Add two numbers.",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
            "required": ["a", "b"],
        },
    },
}

CONVERSATIONS = [
    {"id": "single_user", "messages": [{"role": "user", "content": "What is 2+2?"}]},
    {"id": "system_user", "messages": [
        {"role": "system", "content": "You are a terse assistant."},
        {"role": "user", "content": "Name three primes."},
    ]},
    {"id": "multi_turn", "messages": [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "Hi!"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "Tell me a joke."},
        {"role": "assistant", "content": "Why did the chicken cross the road? To get to the other side."},
        {"role": "user", "content": "Another one, please."},
    ]},
    {"id": "think_history", "messages": [
        {"role": "user", "content": "What is 17 * 3?"},
        {"role": "assistant", "content": "<think>\n17 * 3 = 51.\n</think>\n\nThe answer is 51."},
        {"role": "user", "content": "And 51 / 3?"},
    ]},
    {"id": "think_last_assistant", "messages": [
        {"role": "system", "content": "Reason step by step."},
        {"role": "user", "content": "Is 91 prime?"},
        {"role": "assistant", "content": "<think>\n91 = 7 * 13, so no.\n</think>\n\nNo: 91 = 7 × 13."},
    ]},
    {"id": "reasoning_content_field", "messages": [
        {"role": "user", "content": "Pick a colour."},
        {"role": "assistant", "content": "Blue.", "reasoning_content": "The user wants any colour; blue is common."},
        {"role": "user", "content": "Why?"},
        {"role": "assistant", "content": "It is calm.", "reasoning_content": "Explain briefly."},
    ]},
    {"id": "unicode_emoji", "messages": [
        {"role": "system", "content": "Réponds en français 🇫🇷."},
        {"role": "user", "content": "日本語、中文、한국어, العربية, עברית, Ελληνικά, русский — emoji: 👩‍👩‍👧‍👦 🧑🏽‍💻 ✅ ℕ∑∫√"},
        {"role": "assistant", "content": "<think>\nMultilingual 🤔\n</think>\n\nD'accord ! Voilà « ça » — ok ✓"},
        {"role": "user", "content": "Zero\u200bwidth\u00a0nbsp \t tab, combining e\u0301, NUL-free."},
    ]},
    {"id": "empty_content", "messages": [
        {"role": "system", "content": ""},
        {"role": "user", "content": ""},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": "Still there?"},
    ]},
    {"id": "whitespace_content", "messages": [
        {"role": "user", "content": "   leading and trailing spaces   "},
        {"role": "assistant", "content": "\n\nnewlines around\n\n"},
        {"role": "user", "content": "\tline1\n  line2\n"},
    ]},
    {"id": "template_like_text", "messages": [
        {"role": "system", "content": "Literal {{ braces }} and {% tags %} and {# comments #} stay text."},
        {"role": "user", "content": "Backslashes \\n \\t \\\\ and quotes ' \" `; specials <|im_end|> <|eot_id|> </think>"},
        {"role": "assistant", "content": "Understood: <|begin_of_text|> is just text here."},
        {"role": "user", "content": "ok"},
    ]},
    {"id": "tool_call_dict_args", "tools": [WEATHER_TOOL, CALC_TOOL], "messages": [
        {"role": "system", "content": "You can call tools."},
        {"role": "user", "content": "What's the weather in Zürich?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"type": "function", "function": {"name": "get_weather",
                                              "arguments": {"city": "Zürich", "unit": "celsius"}}}]},
        {"role": "tool", "content": "{\"temperature\": 21.5, \"condition\": \"sunny ☀\"}"},
        {"role": "assistant", "content": "It is 21.5 °C and sunny in Zürich."},
    ]},
    {"id": "tool_call_string_args", "tools": [CALC_TOOL], "messages": [
        {"role": "user", "content": "Add 2 and 3, then 4 and 5."},
        {"role": "assistant", "content": None, "tool_calls": [
            {"type": "function", "function": {"name": "add", "arguments": "{\"a\": 2, \"b\": 3}"}},
            {"type": "function", "function": {"name": "add", "arguments": "{\"a\": 4, \"b\": 5}"}}]},
        {"role": "tool", "content": "5"},
        {"role": "tool", "content": "9"},
        {"role": "assistant", "content": "The sums are 5 and 9."},
    ]},
    {"id": "tool_call_openai_style", "tools": [CALC_TOOL], "messages": [
        {"role": "user", "content": "What is 40 + 2?"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": "{\"a\": 40, \"b\": 2}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "42"},
        {"role": "assistant", "content": "40 + 2 = 42."},
    ]},
    {"id": "tools_no_calls", "tools": [WEATHER_TOOL], "messages": [
        {"role": "user", "content": "Just say hi."},
    ]},
    {"id": "numbers_in_tool_args", "tools": [CALC_TOOL], "messages": [
        {"role": "user", "content": "Add 1.5 and 2."},
        {"role": "assistant", "content": "Let me compute.", "tool_calls": [
            {"type": "function", "function": {"name": "add", "arguments": {"a": 1.5, "b": 2, "exact": True,
                                                                           "note": None, "big": 1e20}}}]},
        {"role": "tool", "content": "3.5"},
    ]},
]
