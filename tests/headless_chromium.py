"""Opens a page in headless Chromium and reports what a user's browser would see.

Speaks the Chrome DevTools Protocol over a WebSocket built on the standard library (RFC 6455
text frames, client-masked), so the tests need no Python package beyond the repository's
lock, only Debian's `chromium`. Collected while the page loads: console messages, uncaught
exceptions, log entries and every request the page makes.
"""
import base64
import contextlib
import dataclasses
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import urllib.request
from typing import Any, Dict, Iterator, List, Optional

CHROMIUM = 'chromium'
_STARTUP_SECONDS = 60
_LOAD_SECONDS = 60


def available() -> bool:
  return shutil.which(CHROMIUM) is not None


class _WebSocket:
  """The client side of one RFC 6455 connection: text frames out, whole messages in."""

  def __init__(self, url: str):
    if not url.startswith('ws://'):
      raise ValueError(f'Not a ws:// URL: {url}')
    host_port, _, path = url[len('ws://'):].partition('/')
    host, _, port = host_port.partition(':')
    self._socket = socket.create_connection((host, int(port)), timeout=_LOAD_SECONDS)
    key = base64.b64encode(os.urandom(16)).decode()
    self._socket.sendall((f'GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\n'
                          f'Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n'
                          'Sec-WebSocket-Version: 13\r\n\r\n').encode())
    response = b''
    while b'\r\n\r\n' not in response:
      chunk = self._socket.recv(4096)
      if not chunk:
        raise ConnectionError('DevTools closed the connection during the handshake.')
      response += chunk
    head, _, self._buffer = response.partition(b'\r\n\r\n')
    if b' 101 ' not in head.split(b'\r\n', 1)[0]:
      raise ConnectionError(f'WebSocket handshake refused: {head[:200]!r}')

  def _read(self, size: int) -> bytes:
    while len(self._buffer) < size:
      chunk = self._socket.recv(1 << 16)
      if not chunk:
        raise ConnectionError('DevTools closed the connection.')
      self._buffer += chunk
    data, self._buffer = self._buffer[:size], self._buffer[size:]
    return data

  def send(self, text: str) -> None:
    payload = text.encode()
    header = bytes([0x81])  # FIN + text frame.
    if len(payload) < 126:
      header += bytes([0x80 | len(payload)])
    elif len(payload) < 1 << 16:
      header += bytes([0x80 | 126]) + struct.pack('>H', len(payload))
    else:
      header += bytes([0x80 | 127]) + struct.pack('>Q', len(payload))
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    self._socket.sendall(header + mask + masked)

  def receive(self) -> str:
    message = b''
    while True:
      first, second = self._read(2)
      opcode, length = first & 0x0F, second & 0x7F
      if length == 126:
        length = struct.unpack('>H', self._read(2))[0]
      elif length == 127:
        length = struct.unpack('>Q', self._read(8))[0]
      mask = self._read(4) if second & 0x80 else None
      payload = self._read(length)
      if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
      if opcode == 0x8:
        raise ConnectionError('DevTools closed the WebSocket.')
      if opcode in (0x9, 0xA):  # Ping / pong: not part of any message.
        continue
      message += payload
      if first & 0x80:
        return message.decode()

  def close(self) -> None:
    self._socket.close()


@dataclasses.dataclass
class PageVisit:
  """What happened while a page loaded, and a way to query it."""
  console_errors: List[str]
  exceptions: List[str]
  log_errors: List[str]
  request_urls: List[str]
  _session: Any

  def evaluate(self, expression: str) -> Any:
    """The value of a JavaScript expression in the page (JSON-serializable results)."""
    result = self._session.command('Runtime.evaluate', expression=expression,
                                   returnByValue=True)
    if 'exceptionDetails' in result:
      raise RuntimeError(f'{expression!r} failed: {result["exceptionDetails"]}')
    return result['result'].get('value')


class _Session:
  def __init__(self, socket_url: str):
    self._socket = _WebSocket(socket_url)
    self._next_id = 0
    self.events: List[Dict[str, Any]] = []

  def command(self, method: str, **params) -> Dict[str, Any]:
    self._next_id += 1
    self._socket.send(json.dumps({'id': self._next_id, 'method': method, 'params': params}))
    while True:
      message = json.loads(self._socket.receive())
      if message.get('id') == self._next_id:
        if 'error' in message:
          raise RuntimeError(f'{method}: {message["error"]}')
        return message.get('result', {})
      if 'method' in message:
        self.events.append(message)

  def wait_for(self, event: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not any(e['method'] == event for e in self.events):
      if time.monotonic() > deadline:
        raise TimeoutError(f'No {event} within {seconds} s.')
      message = json.loads(self._socket.receive())
      if 'method' in message:
        self.events.append(message)

  def close(self) -> None:
    self._socket.close()


def _devtools_port(profile_dir: str, process: subprocess.Popen) -> int:
  """Chromium writes the port it chose (`--remote-debugging-port=0`) into the profile."""
  port_file = os.path.join(profile_dir, 'DevToolsActivePort')
  deadline = time.monotonic() + _STARTUP_SECONDS
  while time.monotonic() < deadline:
    if process.poll() is not None:
      raise RuntimeError(f'{CHROMIUM} exited with {process.returncode} at start-up.')
    if os.path.exists(port_file):
      with open(port_file) as f:
        first_line = f.readline().strip()
      if first_line.isdigit():
        return int(first_line)
    time.sleep(0.2)
  raise TimeoutError(f'{CHROMIUM} did not open its DevTools port in {_STARTUP_SECONDS} s.')


@contextlib.contextmanager
def visit(url: str, window: str = '1280,1600') -> Iterator[PageVisit]:
  """Loads `url` in a fresh headless Chromium profile; yields what the load produced."""
  with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile_dir:
    process = subprocess.Popen(
        [CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
         '--disable-extensions', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--disable-default-apps',
         f'--window-size={window}', '--remote-debugging-port=0',
         f'--user-data-dir={profile_dir}', 'about:blank'],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)  # Its own process group: its helpers end with it.
    session: Optional[_Session] = None
    try:
      port = _devtools_port(profile_dir, process)
      with urllib.request.urlopen(f'http://127.0.0.1:{port}/json/list', timeout=30) as reply:
        pages = [t for t in json.load(reply) if t.get('type') == 'page']
      session = _Session(pages[0]['webSocketDebuggerUrl'])
      for domain in ('Page', 'Runtime', 'Log', 'Network'):
        session.command(f'{domain}.enable')
      session.command('Page.navigate', url=url)
      session.wait_for('Page.loadEventFired', _LOAD_SECONDS)
      # Let late scripts run and report before the page is judged.
      session.command('Runtime.evaluate', expression='new Promise(r => setTimeout(r, 300))',
                      awaitPromise=True)
      events = session.events
      yield PageVisit(
          console_errors=[
              ' '.join(str(a.get('value', a.get('description', ''))) for a in e['params']['args'])
              for e in events if e['method'] == 'Runtime.consoleAPICalled'
              and e['params']['type'] in ('error', 'assert')],
          exceptions=[json.dumps(e['params']['exceptionDetails'])[:500]
                      for e in events if e['method'] == 'Runtime.exceptionThrown'],
          log_errors=[e['params']['entry'].get('text', '') for e in events
                      if e['method'] == 'Log.entryAdded'
                      and e['params']['entry'].get('level') == 'error'],
          request_urls=[e['params']['request']['url'] for e in events
                        if e['method'] == 'Network.requestWillBeSent'],
          _session=session)
    finally:
      if session is not None:
        session.close()
      os.killpg(process.pid, signal.SIGTERM)
      try:
        process.wait(timeout=20)
      except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
