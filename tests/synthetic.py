"""Small synthetic posters and datasets in the Kaggle layout, for tests.

Tests never need the real posters for behaviour checks; where a test uses the shared data,
it copies a few hundred of them into a temporary directory with the same layout.
"""
import csv
import io
import os
import shutil
from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np
from PIL import Image

from contract import layout

GENRE_COLUMNS = ['Action', 'Comedy', 'Drama', 'Horror', 'N/A', 'Romance', 'Western']
SHARED_DATA_ROOT = os.path.normpath(os.path.join(
    os.path.dirname(__file__), '..', '..', 'shared', 'data', 'movie-classifier'))
LABELS_FILE = layout.LABELS_FILE
IMAGES_DIR = layout.IMAGES_DIR


def poster_bytes(width: int = 60, height: int = 90, mode: str = 'RGB',
                 image_format: str = 'JPEG', seed: int = 0) -> bytes:
  """A noisy synthetic poster; `seed` makes the bytes differ between posters."""
  rng = np.random.default_rng(seed)
  pixels = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
  image = Image.fromarray(pixels, 'RGB')
  if mode != 'RGB':
    image = image.convert(mode)
  buffer = io.BytesIO()
  image.save(buffer, format=image_format)
  return buffer.getvalue()


def csv_row(poster_id: str, genres: Sequence[str],
            columns: Sequence[str] = GENRE_COLUMNS) -> List[str]:
  listed = "['" + "', '".join(genres) + "']" if genres else '[]'
  return [poster_id, listed] + ['1' if c in genres else '0' for c in columns]


def csv_text(rows: Iterable[Sequence[str]], columns: Sequence[str] = GENRE_COLUMNS,
             bom: bool = False) -> str:
  buffer = io.StringIO()
  writer = csv.writer(buffer, lineterminator='\n')
  writer.writerow(['Id', 'Genre', *columns])
  writer.writerows(rows)
  return ('\ufeff' if bom else '') + buffer.getvalue()


def write_dataset(root: str, rows: Iterable[Sequence[str]], images: Dict[str, bytes],
                  columns: Sequence[str] = GENRE_COLUMNS) -> str:
  """Writes `train.csv` and `Images/<Id>.jpg` under `root` in the Kaggle layout."""
  os.makedirs(os.path.join(root, IMAGES_DIR), exist_ok=True)
  with open(os.path.join(root, LABELS_FILE), 'w', encoding='utf-8', newline='') as f:
    f.write(csv_text(rows, columns))
  for poster_id, data in images.items():
    with open(os.path.join(root, IMAGES_DIR, poster_id + '.jpg'), 'wb') as f:
      f.write(data)
  return root


def copy_shared_subset(root: str, n_posters: int,
                       extra_rows: Optional[List[List[str]]] = None) -> str:
  """Copies the first `n_posters` rows of the shared dataset (and their posters) to `root`,
  then appends `extra_rows` to its CSV."""
  with open(os.path.join(SHARED_DATA_ROOT, LABELS_FILE), encoding='utf-8-sig',
            newline='') as f:
    reader = csv.reader(f)
    header = next(reader)
    rows = [row for _, row in zip(range(n_posters), reader)]
  os.makedirs(os.path.join(root, IMAGES_DIR), exist_ok=True)
  for row in rows:
    source = os.path.join(SHARED_DATA_ROOT, IMAGES_DIR, row[0] + '.jpg')
    if os.path.exists(source):
      shutil.copyfile(source, os.path.join(root, IMAGES_DIR, row[0] + '.jpg'))
  with open(os.path.join(root, LABELS_FILE), 'w', encoding='utf-8', newline='') as f:
    writer = csv.writer(f, lineterminator='\n')
    writer.writerow(header)
    writer.writerows(rows + (extra_rows or []))
  return root


def shared_genre_columns() -> List[str]:
  """The genre columns of the shared dataset's CSV, in order."""
  with open(os.path.join(SHARED_DATA_ROOT, LABELS_FILE), encoding='utf-8-sig',
            newline='') as f:
    return next(csv.reader(f))[2:]


# Genres whose posters a small CNN learns in a few steps: each adds its own colour.
LEARNABLE_GENRE_COLOURS = {'Action': (200, 0, 0), 'Comedy': (0, 200, 0), 'Drama': (0, 0, 200)}
# A rarer genre told by a white band across the poster (on about a quarter of the posters):
# the weakest genre a gate judges.
LEARNABLE_RARE_GENRE = 'Western'
LEARNABLE_GENRES = [*LEARNABLE_GENRE_COLOURS, LEARNABLE_RARE_GENRE]


def learnable_dataset(root: str, n_posters: int, seed: int = 0) -> str:
  """A Kaggle-layout dataset where a poster's colour tells its genres (1-2 of three) and a
  white band the rarer LEARNABLE_RARE_GENRE."""
  rng = np.random.default_rng(seed)
  genres = list(LEARNABLE_GENRE_COLOURS)
  rows, images = [], {}
  for i in range(n_posters):
    chosen = sorted(rng.choice(genres, size=rng.integers(1, 3), replace=False).tolist())
    colour = np.clip(sum(np.array(LEARNABLE_GENRE_COLOURS[g]) for g in chosen), 0, 255)
    pixels = np.clip(colour + rng.normal(0, 25, size=(60, 40, 3)), 0, 255)
    if rng.random() < 0.25:
      chosen = sorted(chosen + [LEARNABLE_RARE_GENRE])
      pixels[24:36] = 255
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8), 'RGB').save(buffer, format='JPEG')
    poster_id = f'tt{i:07d}'
    rows.append(csv_row(poster_id, chosen))
    images[poster_id] = buffer.getvalue()
  return write_dataset(root, rows, images)


def uniform_jpeg(width: int, height: int) -> bytes:
  """A valid mid-grey grayscale baseline JPEG of any size, built without holding its pixels.

  Huffman tables with one 1-bit code each make every 8x8 block "DC unchanged, end of
  block", two 0 bits, so a 20000x20000 poster is 1.6 MB of zero bytes after the headers
  (no 0xFF byte, so no byte stuffing). For testing how large posters are decoded.
  """
  def segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, 'big') + payload

  one_code_table = bytes([1] + [0] * 15) + b'\x00'  # One code of length 1, for symbol 0.
  blocks = -(-width // 8) * -(-height // 8)
  full_bytes, spare_bits = divmod(2 * blocks, 8)
  scan = b'\x00' * full_bytes + (bytes([0xFF >> spare_bits]) if spare_bits else b'')
  return b''.join([
      b'\xff\xd8',
      segment(0xDB, b'\x00' + b'\x01' * 64),  # Quantization table 0: all ones.
      segment(0xC0, b'\x08' + height.to_bytes(2, 'big') + width.to_bytes(2, 'big')
              + b'\x01\x01\x11\x00'),  # Baseline, one component.
      segment(0xC4, b'\x00' + one_code_table),  # DC table 0.
      segment(0xC4, b'\x10' + one_code_table),  # AC table 0.
      segment(0xDA, b'\x01\x01\x00\x00\x3f\x00'),
      scan, b'\xff\xd9'])
