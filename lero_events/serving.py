"""How the live room is served: the WSGI server with TCP_NODELAY, and bounded send queues.

Socket.IO frames are small and often sent back to back (an ack, then the tick's frame): with
Nagle's algorithm on, the second waits for the client's delayed ACK, about 40 ms on Linux. So
every accepted socket gets TCP_NODELAY, under gevent (the default) and eventlet alike.

Under gevent, WebSocket is spoken by simple-websocket (maintained) unless
LERO_WEBSOCKET_SERVER=gevent-websocket (unmaintained since 2017); unless that is chosen,
app.py hides gevent-websocket from python-engineio, which prefers it whenever it imports.

A room's frame is encoded once for all its members, down to the WebSocket bytes (`FramedEmit`),
and every packet is written straight to its member's socket when nothing is queued before it
(`write_first`); the per-connection queue and writer, and a WebSocket library per recipient,
were most of the cost of a frame to 1,000 people (docs/performance.md).

A client that cannot keep up (a phone on a bad network) must not hold a room's memory or its
sender: once more than LIVE_SEND_QUEUE_LIMIT packets wait for it, the room skips it and drops
the connection; it reconnects with its cursors and catches up from the database.
"""

import json
import socket
import struct
import threading
import time

import socketio as python_socketio
from engineio import packet as engineio_packet
from socketio import packet as socketio_packet

from .broadcast import DELIVERY_DELAYED, NAMESPACE
from .config import is_loopback
from .extensions import socketio

SIMPLE_WEBSOCKET = "simple-websocket"
GEVENT_WEBSOCKET = "gevent-websocket"
WEBSOCKET_SERVERS = (SIMPLE_WEBSOCKET, GEVENT_WEBSOCKET)
UNKNOWN_WEBSOCKET_SERVER = (
    "LERO_WEBSOCKET_SERVER={choice} is not one we know: leave it unset for simple-websocket, "
    "or set it to gevent-websocket."
)
PUBLIC_WITHOUT_ADDRESS = (
    "LERO_HOST={host} lets other computers reach this server, so it needs the address people "
    "use for it: set LERO_PUBLIC_BASE_URL (e.g. https://events.example.org) for the links in "
    "emails and the host names it answers to. To try it on this computer only, leave LERO_HOST "
    "unset (127.0.0.1)."
)


def check_listening_address(config):
    """Listening beyond loopback without LERO_PUBLIC_BASE_URL stops here with what to set:
    links would name an address nobody else can use, and any Host would be one we answer."""
    host = str(config["HOST"])
    if not is_loopback(host) and not config.get("PUBLIC_BASE_URL"):
        raise SystemExit(PUBLIC_WITHOUT_ADDRESS.format(host=host))


def no_delay(sock):
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def off_the_event_loop(function, *args):
    """`function(*args)` in a real OS thread while the server's green threads keep answering:
    for CPU work such as decoding an uploaded image (Pillow lets go of the GIL meanwhile)."""
    if socketio.async_mode == "gevent":
        import gevent

        return gevent.get_hub().threadpool.apply(function, args)
    if socketio.async_mode == "eventlet":
        from eventlet import tpool

        return tpool.execute(function, *args)
    return function(*args)


def without_websocket_compression(wsgi_app):
    """Decline the client's permessage-deflate offer (simple-websocket accepts it, with no
    setting to refuse): compressing every small frame cost a fifth more CPU and 200 KB of
    zlib state per connection (docs/performance.md), and compressing secrets beside text an
    attacker chose is a side channel we do not need."""

    def serve_uncompressed(environ, start_response):
        environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
        return wsgi_app(environ, start_response)

    return serve_uncompressed


def websocket_frame(payload, opcode=0x1):
    """One whole, unmasked WebSocket frame as a server sends it (RFC 6455 section 5.2);
    opcode 0x1 is text, 0x2 binary."""
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x80 | opcode, length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 126, length)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 127, length)
    return header + payload


class Framed(str):
    """An Engine.IO packet's text with the WebSocket bytes to send for it (`frame`)."""

    def __new__(cls, text, frame):
        framed = super().__new__(cls, text)
        framed.frame = frame
        return framed


def framed_packet(text, frame):
    """An Engine.IO message packet that a `FramedWebSocket` sends as `frame`, as it is."""
    message = engineio_packet.Packet(engineio_packet.MESSAGE, text[1:])
    message.encode_cache = Framed(text, frame)
    return message


def framed_websocket_class():
    """python-engineio's gevent WebSocket class (simple-websocket), writing whole frames itself.

    Every write to a connection goes through here or `write_now`, one at a time: the queued
    ones from the connection's writer (python-engineio's), and any other packet from whoever
    sends it (`write_first`) when nothing is queued or being written before it. Writes use
    sendall: simple-
    websocket's own send ignores a partial write, which a full socket buffer (a slow phone)
    makes possible.
    """
    from engineio.async_drivers import gevent as engineio_gevent

    class FramedWebSocket(engineio_gevent.WebSocketWSGI):
        def __call__(self, environ, start_response):
            self.writing = False
            # The handler is the Engine.IO connection's: the room's sender finds us through it.
            self.app.__self__.websocket = self
            return super().__call__(environ, start_response)

        def send(self, message):
            if not self.ws.connected:
                raise OSError("the WebSocket is closed")
            frame = getattr(message, "frame", None)
            if frame is None:
                binary = isinstance(message, bytes)
                frame = websocket_frame(message if binary else message.encode(), 2 if binary else 1)
            self.writing = True
            try:
                self.ws.sock.sendall(frame)
            finally:
                self.writing = False

        def write_now(self, connection, text, frame):
            """Write `frame` to the socket without waiting; False when it must be queued
            (something is queued or being written before it, or the socket is full)."""
            if (
                self.writing
                or connection.queue.qsize()
                or not connection.upgraded
                or connection.upgrading
                or not self.ws.connected
            ):
                return False
            if not connection.check_ping_timeout():
                return True  # the connection is being closed
            try:
                sent = self.ws.sock._sock.send(frame)  # the OS socket, non-blocking under gevent
            except BlockingIOError:
                return False
            except OSError:
                return True  # gone: its reader ends the connection
            if sent < len(frame):
                # The rest of this frame goes before anything else: nothing is queued yet.
                connection.send(framed_packet(text, frame[sent:]))
            return True

    return FramedWebSocket


def write_first(engine):
    """Every packet to one connection (an ack, a `state`, a room's frame) is written at once
    where `FramedWebSocket.write_now` can, else queued as python-engineio does: an ack queued
    behind a quiet room's frame to 1,000 people waited for all of it to be written."""
    queue = engine.send_packet

    def send_packet(eio_sid, packet):
        connection = engine.sockets.get(eio_sid)
        websocket = getattr(connection, "websocket", None)
        if websocket is not None:
            text = packet.encode()
            frame = getattr(text, "frame", None)
            if frame is None and isinstance(text, str):
                frame = websocket_frame(text.encode())
            if frame is not None and websocket.write_now(connection, text, frame):
                return
        queue(eio_sid, packet)

    engine.send_packet = send_packet


def gevent_server(app, host, port):
    """gevent's pywsgi, with the WebSocket library LERO_WEBSOCKET_SERVER names."""
    from engineio.async_drivers import gevent as engineio_gevent
    from gevent import pywsgi

    choice = app.config["WEBSOCKET_SERVER"]
    if choice not in WEBSOCKET_SERVERS:
        raise SystemExit(UNKNOWN_WEBSOCKET_SERVER.format(choice=choice))
    if (engineio_gevent.SimpleWebSocketWSGI is None) != (choice == GEVENT_WEBSOCKET):
        raise SystemExit(f"python-engineio was imported before choosing {choice}: start app.py")
    if choice == GEVENT_WEBSOCKET:
        from geventwebsocket.handler import WebSocketHandler as Handler

        wsgi_app = app
    else:
        Handler = pywsgi.WSGIHandler
        # Frames are built here uncompressed, for every recipient at once.
        wsgi_app = without_websocket_compression(app)
        engine = socketio.server.eio
        # python-engineio's private table of its async classes: re-check when upgrading it.
        engine._async = {**engine._async, "websocket": framed_websocket_class()}
        write_first(engine)

    class NoDelayHandler(Handler):
        def handle(self):
            no_delay(self.socket)
            super().handle()

        def handle_one_response(self):
            super().handle_one_response()
            if self.environ.get("HTTP_UPGRADE", "").lower() == "websocket":
                # The socket was the WebSocket's: what the client sends after its end is no
                # new HTTP request (read as one, it logged a traceback answering a closed peer).
                self.close_connection = True

    return pywsgi.WSGIServer((host, port), wsgi_app, handler_class=NoDelayHandler, log=None)


def serve(app, host, port, async_mode):
    """Run the app's server until the process stops."""
    if async_mode == "gevent":
        server = gevent_server(app, host, port)
        socketio.wsgi_server = server  # what socketio.stop() stops
        server.serve_forever()
    elif async_mode == "eventlet":
        import eventlet
        import eventlet.wsgi

        class NoDelayProtocol(eventlet.wsgi.HttpProtocol):
            def setup(self):
                no_delay(self.request)
                super().setup()

        listener = eventlet.listen((host, port))
        eventlet.wsgi.server(listener, app, log_output=False, protocol=NoDelayProtocol)
    else:
        socketio.run(app, host=host, port=port, log_output=False)


class BoundedQueues:
    """A Socket.IO client manager that skips, and then drops, clients too far behind."""

    queue_limit = 1000

    def get_participants(self, namespace, room):
        for sid, eio_sid in super().get_participants(namespace, room):
            if not self.too_far_behind(eio_sid):
                yield sid, eio_sid

    def too_far_behind(self, eio_sid):
        connection = self.server.eio.sockets.get(eio_sid)
        if connection is None or connection.queue.qsize() <= self.queue_limit:
            return False
        dropping = self.__dict__.setdefault("dropping", set())
        if eio_sid not in dropping:
            dropping.add(eio_sid)
            self.server.start_background_task(self.drop, eio_sid)
        return True

    def drop(self, eio_sid):
        try:
            self.server.eio.disconnect(eio_sid)
        finally:
            self.dropping.discard(eio_sid)


class FramedEmit(python_socketio.Manager):
    """This worker's part of an emit to a room: the packet is encoded once, down to its
    WebSocket frame, for every member (`write_first` writes it straight to their sockets where
    it can). Emits with a callback, or with binary data, are python-socketio's own."""

    def emit(self, event, data, namespace, room=None, skip_sid=None, callback=None, **kwargs):
        room = kwargs.pop("to", None) or room
        text = None
        if not callback and namespace in self.rooms:
            text = self.packet_text(event, data, namespace)
        if text is None:
            return super().emit(
                event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, **kwargs
            )
        self.send_text(text, text.encode(), namespace, room, skip_sid)

    def packet_text(self, event, data, namespace):
        """The Engine.IO message packet's text for this event, as every recipient gets it, or
        None for binary data (python-socketio sends it as attachments).

        Encoded as text straight away: JSON refuses bytes, so the encoding finds binary data
        itself. python-socketio's own check walks all of the data, twice, before encoding it:
        more than the encoding costs for a joiner's snapshot of a room's whole stream."""
        data = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        packet = self.server.packet_class(
            socketio_packet.EVENT, namespace=namespace, data=[event, *data], binary=False
        )
        try:
            encoded = packet.encode()
        except TypeError:
            if not socketio_packet.Packet.data_is_binary(data):
                raise
            return None
        return f"{engineio_packet.MESSAGE}{encoded}"

    def send_text(self, text, payload, namespace, room, skip_sid):
        """Send the packet `text` (`payload`: its UTF-8 bytes) to this worker's members of
        `room` (a name, a list of names, or None for the whole namespace) but `skip_sid`."""
        if namespace not in self.rooms:
            return
        skip = set(skip_sid) if isinstance(skip_sid, list) else {skip_sid}
        message = framed_packet(text, websocket_frame(payload))
        for sid, eio_sid in self.get_participants(namespace, room):
            if sid not in skip:
                self.server._send_eio_packet(eio_sid, message)


class WorkerNotices:
    """Short notices between workers (e.g. "these rooms' presence rows changed"), by topic:
    with one worker there is no one to tell."""

    def tell_other_workers(self, topic, data):
        """Nothing to do: this worker is the only one."""

    def on_notice(self, topic, handler):
        """Call `handler(data)` for each notice on `topic` from another worker."""
        self.__dict__.setdefault("notice_handlers", {})[topic] = handler


class BoundedManager(BoundedQueues, WorkerNotices, FramedEmit):
    """One worker."""


class BoundedRedisManager(BoundedQueues, WorkerNotices, python_socketio.RedisManager, FramedEmit):
    """Several workers sharing Redis; a worker that loses it says so (live-protocol.md 10.5).

    An emit without a callback or binary data goes to the other workers as the packet text
    this worker encoded (`relay_message`), not as python-socketio's JSON of its arguments: the
    others only frame it for their members, instead of decoding the JSON and encoding the
    packet again (an eighth of the CPU a frame received cost, docs/performance.md). Notices
    between workers (`tell_other_workers`) go the same way. Everything else (callbacks, binary
    data, disconnects, rooms) is python-socketio's JSON, which this worker also still reads
    from workers of an older version (docs/deployment.md says what a rolling deploy does).

    While Redis does not answer, a change is still saved and acked and this worker's own
    clients still get its frames (they are delivered here before they are published), but
    frames between workers are lost. So the worker tells its clients `delivery` live: false
    at once, and when it hears Redis again, tells every client of every worker live: true,
    on which they catch up from the database. This overrides python-socketio's private
    `_publish`, `_listen` and `_redis_listen_with_retries` (re-check them when upgrading it):
    upstream retries with a back-off of up to a minute and tells no one.
    """

    queue_live = True
    retry_seconds = 1.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Messages waiting for the publisher, and whether it is running (`publish_bytes`).
        self.outbox = []
        self.publishing = False
        self.outbox_lock = threading.Lock()

    def emit(self, event, data, namespace=None, room=None, skip_sid=None, callback=None, **kwargs):
        room = kwargs.pop("to", None) or room
        namespace = namespace or "/"
        text = None
        if not kwargs.get("ignore_queue") and callback is None:
            text = self.packet_text(event, data, namespace)
        if text is None:
            return super().emit(
                event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, **kwargs
            )
        payload = text.encode()
        self.send_text(text, payload, namespace, room, skip_sid)
        self.publish_bytes(relay_message(self.host_id, namespace, room, skip_sid, payload))

    def _publish(self, data):
        self.publish_bytes(self.json.dumps(data))

    def publish_bytes(self, message):
        """Publish `message` after those before it. One publisher at a time sends everything
        waiting in one round trip, so whoever emits (a room's sender, a handler about to ack)
        never waits for Redis, and a tick's frames cost one round trip rather than one each."""
        if not self.queue_live:
            return  # lost anyway: the catch-up after `delivery` live: true brings it
        with self.outbox_lock:
            self.outbox.append(message)
            if self.publishing:
                return
            self.publishing = True
        self.server.start_background_task(self.publish_waiting)

    def publish_waiting(self):
        while True:
            with self.outbox_lock:
                waiting, self.outbox = self.outbox, []
                if not waiting:
                    self.publishing = False
                    return
            if not self.queue_live:
                continue  # lost, as in publish_bytes
            try:
                if not self.connected:
                    self._redis_connect()
                pipeline = self.redis.pipeline(transaction=False)
                for message in waiting:
                    pipeline.publish(self.channel, message)
                pipeline.execute()
            except Exception:
                self.connected = False
                self.queue_lost()
                if self.pubsub is not None:
                    # Make the listener reconnect too: its success is what says "back".
                    self.pubsub.close()

    def tell_other_workers(self, topic, data):
        header = json.dumps([self.host_id, topic, data], separators=(",", ":"))
        self.publish_bytes(NOTICE + header.encode())

    def _listen(self):
        """python-socketio's messages, after handling our relayed packets and notices here."""
        for message in super()._listen():
            if not isinstance(message, bytes) or not message.startswith((RELAYED, NOTICE)):
                yield message
                continue
            try:
                if message.startswith(RELAYED):
                    self.relayed(message)
                else:
                    self.noticed(message)
            except Exception:
                self._get_logger().exception("live room: a message from a worker failed")

    def noticed(self, message):
        host_id, topic, data = json.loads(message[len(NOTICE) :])
        handler = self.__dict__.get("notice_handlers", {}).get(topic)
        if host_id != self.host_id and handler is not None:
            handler(data)

    def relayed(self, message):
        """Send another worker's packet to this worker's members of its room(s)."""
        host_id, namespace, room, skip_sid, payload = read_relay_message(message)
        if host_id != self.host_id:
            self.send_text(payload.decode(), payload, namespace, room, skip_sid)

    def _redis_listen_with_retries(self):
        while True:
            try:
                self._redis_connect()
                self.pubsub.subscribe(self.channel)
                self.queue_back()
                yield from self.pubsub.listen()
            except Exception:
                self.queue_lost()
            time.sleep(self.retry_seconds)

    def queue_lost(self):
        if self.queue_live:
            self.queue_live = False
            self._get_logger().warning("live room: the message queue is not answering")
            self.emit("delivery", DELIVERY_DELAYED, namespace=NAMESPACE, ignore_queue=True)

    def queue_back(self):
        if not self.queue_live:
            self.queue_live = True
            self._get_logger().warning("live room: the message queue answers again")
            self.emit("delivery", {"live": True}, namespace=NAMESPACE)


# What starts a relayed packet or a notice on the channel: python-socketio's own messages are
# JSON objects.
RELAYED = b"lero-packet/1\n"
NOTICE = b"lero-notice/1\n"


def relay_message(host_id, namespace, room, skip_sid, payload):
    """A packet for the other workers: RELAYED, one line of JSON saying who sent it to whom
    ([host_id, namespace, room, skip_sid]), then the Engine.IO packet's UTF-8 text as sent."""
    header = json.dumps([host_id, namespace, room, skip_sid], separators=(",", ":"))
    return b"%s%s\n%s" % (RELAYED, header.encode(), payload)


def read_relay_message(message):
    """(host_id, namespace, room, skip_sid, payload) of a `relay_message`."""
    end = message.index(b"\n", len(RELAYED))
    host_id, namespace, room, skip_sid = json.loads(message[len(RELAYED) : end])
    return host_id, namespace, room, skip_sid, message[end + 1 :]


def client_manager(config):
    url = config["SOCKETIO_MESSAGE_QUEUE"]
    if url:
        manager = BoundedRedisManager(
            url,
            channel=config["SOCKETIO_CHANNEL"],
            # A Redis host that vanishes must not hold a send for long.
            redis_options={"socket_connect_timeout": 2, "socket_keepalive": True},
        )
    else:
        manager = BoundedManager()
    manager.queue_limit = int(config["LIVE_SEND_QUEUE_LIMIT"])
    return manager
