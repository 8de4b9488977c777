#!/usr/bin/python3
"""A small Chrome DevTools protocol client for tests/system/cockpit.sh.

Each call connects to the first page of a headless Chromium started with
--remote-debugging-port=PORT, does one thing and exits:

    cdp.py PORT navigate URL            load URL and wait for its load event
    cdp.py PORT eval EXPR               print EXPR's value (JSON unless a string)
    cdp.py PORT wait EXPR [SECONDS]     poll until EXPR is truthy (default 20 s); print it
    cdp.py PORT type SELECTOR TEXT      focus the input, replace its text by typing TEXT
    cdp.py PORT choose SELECTOR VALUE   pick an option of a <select>, as a user does
    cdp.py PORT click SELECTOR          a mouse click at the middle of the element
    cdp.py PORT screenshot FILE         the whole page as PNG

Exit 0 on success, 1 with a message on stderr otherwise (a wait that timed out prints
the page's text, to show what it showed instead). Needs Debian's python3-websocket.
"""
import base64
import json
import sys
import time
import urllib.request

import websocket


class Page:
    def __init__(self, port):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json", timeout=10) as r:
            targets = json.load(r)
        url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        # Chromium refuses a websocket with an Origin it was not told to allow
        self.ws = websocket.create_connection(url, timeout=30, suppress_origin=True)
        self.next_id = 0

    def call(self, method, **params):
        """Send one command; skip the events that arrive before its answer."""
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    def wait_event(self, name, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            message = json.loads(self.ws.recv())
            if message.get("method") == name:
                return
        raise RuntimeError(f"no {name} within {seconds} s")

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise RuntimeError(f"{expression}: {text}")
        return result["result"].get("value")

    def element_center(self, selector):
        box = self.evaluate(f"""(() => {{
            const e = document.querySelector({json.dumps(selector)});
            if (!e) return null;
            e.scrollIntoView({{block: "center"}});
            const r = e.getBoundingClientRect();
            return [r.x + r.width / 2, r.y + r.height / 2];
        }})()""")
        if not box:
            raise RuntimeError(f"no element {selector}")
        return box


def show(value):
    print(value if isinstance(value, str) else json.dumps(value))


def main(argv):
    port, command, args = argv[1], argv[2], argv[3:]
    page = Page(port)
    if command == "navigate":
        page.call("Page.enable")
        page.call("Page.navigate", url=args[0])
        page.wait_event("Page.loadEventFired", 30)
    elif command == "eval":
        show(page.evaluate(args[0]))
    elif command == "wait":
        seconds = float(args[1]) if len(args) > 1 else 20
        deadline = time.monotonic() + seconds
        while True:
            # truthy as JavaScript says: an element is, though it comes back as {}
            truthy, value = page.evaluate(f"(v => [!!v, v])({args[0]})")
            if truthy:
                show(value)
                break
            if time.monotonic() > deadline:
                text = page.evaluate("document.body ? document.body.innerText : ''")
                raise RuntimeError(f"not true within {seconds} s: {args[0]}\n--- the page shows:\n{text}")
            time.sleep(0.2)
    elif command == "type":
        selector, text = args
        page.evaluate(f"(e => {{ e.focus(); e.select(); }})(document.querySelector({json.dumps(selector)}))")
        page.call("Input.dispatchKeyEvent", type="keyDown", key="Delete", code="Delete",
                  windowsVirtualKeyCode=46)
        page.call("Input.dispatchKeyEvent", type="keyUp", key="Delete", code="Delete",
                  windowsVirtualKeyCode=46)
        if text:
            page.call("Input.insertText", text=text)
        typed = page.evaluate(f"document.querySelector({json.dumps(selector)}).value")
        if typed != text:
            raise RuntimeError(f"{selector} holds {typed!r} after typing {text!r}")
    elif command == "choose":
        selector, value = args
        page.evaluate(f"""(e => {{
            e.focus();
            e.value = {json.dumps(value)};
            e.dispatchEvent(new Event("input", {{bubbles: true}}));
            e.dispatchEvent(new Event("change", {{bubbles: true}}));
        }})(document.querySelector({json.dumps(selector)}))""")
    elif command == "click":
        x, y = page.element_center(args[0])
        for kind in ("mousePressed", "mouseReleased"):
            page.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)
    elif command == "screenshot":
        size = page.call("Page.getLayoutMetrics")["cssContentSize"]
        shot = page.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                         clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"],
                               "scale": 1})
        with open(args[0], "wb") as f:
            f.write(base64.b64decode(shot["data"]))
    else:
        raise RuntimeError(f"unknown command {command}")


if __name__ == "__main__":
    try:
        main(sys.argv)
    except Exception as e:  # one line for the test's log, not a traceback
        print(f"cdp.py {' '.join(sys.argv[2:3])}: {e}", file=sys.stderr)
        sys.exit(1)
