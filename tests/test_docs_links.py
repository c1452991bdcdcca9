"""The README and docs/ hold no dead links, every docs page is reachable from the README, and
the knobs and variables they name exist.

Every relative markdown link and image in README.md and docs/*.md must name a file or folder
of the checkout; a `#anchor` into a markdown file (or into the page itself) must name one of
its headings, slugged as GitHub slugs them. Links in code (fenced or indented blocks, inline
code spans) are not links. Each check is also shown failing on a page that breaks it.
"""
import glob
import os
import re
import subprocess
import sys
from typing import Dict, Iterator, List, Set, Tuple

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = 'README.md'

# [text](target) and ![alt](target), with an optional "title"; the text may hold one level of
# brackets (an image inside a link).
_INLINE_LINK = re.compile(r'!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)')
# [label]: target (reference definitions).
_REFERENCE = re.compile(r'^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+["\'(].*)?$')
_FENCE = re.compile(r'^\s{0,3}(`{3,}|~{3,})')
_HEADING = re.compile(r'^\s{0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$')
_CODE_SPAN = re.compile(r'(`+)(.+?)\1')
_SCHEME = re.compile(r'^[a-zA-Z][a-zA-Z0-9+.-]*:')


def _pages() -> List[str]:
  """README.md and every docs/*.md, relative to the checkout."""
  return [README] + sorted(os.path.relpath(path, REPO)
                           for path in glob.glob(os.path.join(REPO, 'docs', '*.md')))


def _prose_lines(text: str) -> Iterator[Tuple[int, str]]:
  """(line number, line) of the lines outside fenced and indented code blocks."""
  fence = None
  previous_blank, in_indented = True, False
  for number, line in enumerate(text.splitlines(), 1):
    opened = _FENCE.match(line)
    if fence:
      if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
        fence = None
      continue
    if opened:
      fence = opened.group(1)
      continue
    blank = not line.strip()
    indented = line.startswith('    ') or line.startswith('\t')
    if indented and not blank and (previous_blank or in_indented):
      in_indented = True
    elif not blank:
      in_indented = False
    previous_blank = blank
    if not in_indented and not blank:
      yield number, line


def links(text: str) -> List[Tuple[int, str]]:
  """(line number, target) of every link and image in a markdown text, code excluded."""
  found = []
  for number, line in _prose_lines(text):
    reference = _REFERENCE.match(line)
    if reference:
      found.append((number, reference.group(1)))
      continue
    for match in _INLINE_LINK.finditer(_CODE_SPAN.sub('', line)):
      found.append((number, match.group(1)))
  return found


def github_slug(heading: str) -> str:
  """The anchor GitHub gives a heading: its text without markup, lower case, with
  punctuation dropped and spaces turned into hyphens."""
  text = re.sub(r'!?\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\([^)]*\)', r'\1', heading)  # links
  text = _CODE_SPAN.sub(lambda m: m.group(2), text)
  text = re.sub(r'<[^>]+>', '', text)  # inline HTML
  text = re.sub(r'(\*+|(?<!\w)_+|_+(?!\w))', '', text)  # emphasis
  text = text.strip().lower()
  text = re.sub(r'[^\w\- ]', '', text)
  return text.replace(' ', '-')


def anchors(text: str) -> Set[str]:
  """Every heading's anchor in a markdown text, numbered as GitHub numbers repeats."""
  seen: Dict[str, int] = {}
  result = set()
  for _, line in _prose_lines(text):
    heading = _HEADING.match(line)
    if not heading:
      continue
    slug = github_slug(heading.group(2))
    count = seen.get(slug, 0)
    seen[slug] = count + 1
    result.add(slug if count == 0 else f'{slug}-{count}')
  return result


def dead_links(root: str, page: str) -> List[str]:
  """'page:line: target (why)' for every relative link of `page` (relative to `root`) that
  names nothing: a missing file or folder, or a heading the target page does not have."""
  with open(os.path.join(root, page), encoding='utf-8') as f:
    text = f.read()
  problems = []
  for number, target in links(text):
    if _SCHEME.match(target) or target.startswith('//'):
      continue  # http(s), mailto: not the checkout's to check.
    path, _, anchor = target.partition('#')
    where = f'{page}:{number}: {target}'
    resolved = os.path.normpath(os.path.join(root, os.path.dirname(page), path))
    if path and not os.path.exists(resolved):
      problems.append(f'{where} (no such file)')
      continue
    if not anchor:
      continue
    if path and not resolved.endswith('.md'):
      continue  # An anchor into a source file is a line number, GitHub's to resolve.
    if path:
      with open(resolved, encoding='utf-8') as f:
        target_text = f.read()
    else:
      target_text = text
    if anchor.lower() not in anchors(target_text):
      problems.append(f'{where} (no heading with that anchor)')
  return problems


def unlinked_pages(root: str) -> List[str]:
  """docs/*.md pages that README.md does not link to."""
  with open(os.path.join(root, README), encoding='utf-8') as f:
    linked = {os.path.normpath(target.partition('#')[0]) for _, target in links(f.read())}
  pages = sorted(os.path.relpath(path, root)
                 for path in glob.glob(os.path.join(root, 'docs', '*.md')))
  return [page for page in pages if page not in linked]


@pytest.mark.parametrize('page', _pages())
def test_every_relative_link_names_a_file_and_heading(page):
  assert dead_links(REPO, page) == []


def test_every_docs_page_is_linked_from_the_readme():
  assert unlinked_pages(REPO) == []


def test_the_readme_stays_short():
  with open(os.path.join(REPO, README), encoding='utf-8') as f:
    assert len(f.read().splitlines()) <= 250


def _runner_flags_and_variables() -> Tuple[Set[str], Set[str]]:
  """Every flag and POSTER_* variable that the two runners' --help name."""
  flags, variables = set(), set()
  for runner in ('local_runner.py', 'kubeflow_v2_runner.py'):
    usage = subprocess.run([sys.executable, runner, '--help'], cwd=REPO, capture_output=True,
                           text=True, check=True).stdout
    flags.update(re.findall(r'(?<![\w-])--[a-z0-9][a-z0-9-]*', usage))
    variables.update(re.findall(r'\bPOSTER_[A-Z0-9_]*[A-Z0-9]\b', usage))
  return flags, variables


def _configuration_section(text: str) -> str:
  match = re.search(r'^## Configuration\n(.*?)(?=^## )', text, re.M | re.S)
  assert match, 'the README has no "## Configuration" section'
  return match.group(1)


def test_the_readme_configuration_names_only_real_knobs():
  """Each flag of the README's knob table is one the runners take (`--name-*`: a family)."""
  flags, _ = _runner_flags_and_variables()
  with open(os.path.join(REPO, README), encoding='utf-8') as f:
    named = set(re.findall(r'--[a-z0-9][a-z0-9-]*\*?', _configuration_section(f.read())))
  assert named
  unknown = sorted(
      flag for flag in named
      if not (any(known.startswith(flag[:-1]) for known in flags) if flag.endswith('*')
              else flag in flags))
  assert unknown == []


def test_every_poster_variable_named_in_the_docs_exists():
  """A POSTER_* variable named in the README or docs/ is a runner knob or read by the code."""
  _, variables = _runner_flags_and_variables()
  sources = []
  for pattern in ('*.py', '*/**/*.py', 'serving/**/*', 'Dockerfile', 'scripts/*', '.ci/*'):
    sources += glob.glob(os.path.join(REPO, pattern), recursive=True)
  for source in sources:
    if os.path.isfile(source) and '.venv' not in source:
      with open(source, encoding='utf-8', errors='replace') as f:
        variables.update(re.findall(r'\bPOSTER_[A-Z0-9_]*[A-Z0-9]\b', f.read()))
  missing = []
  for page in _pages():
    with open(os.path.join(REPO, page), encoding='utf-8') as f:
      for name in sorted(set(re.findall(r'\bPOSTER_[A-Z0-9_]*[A-Z0-9]\b', f.read()))):
        if name not in variables:
          missing.append(f'{page}: {name}')
  assert missing == []


# The checks, shown failing on pages that break them.

def _write(root, page, text):
  path = os.path.join(root, page)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, 'w', encoding='utf-8') as f:
    f.write(text)


def test_the_check_finds_a_missing_file_a_missing_heading_and_skips_code(tmp_path):
  root = str(tmp_path)
  _write(root, 'docs/gate.md', '# The push gate\n\n## Why these criteria\n')
  _write(root, 'docs/gate.png', '')
  _write(root, README, '\n'.join([
      '# Title',
      '[gate](docs/gate.md) and [why](docs/gate.md#why-these-criteria), ![pic](docs/gate.png)',
      '[gone](docs/gone.md), [no such part](docs/gate.md#the-data-contract)',
      '[here](#title) and [not here](#nowhere), [web](https://example.com/x.md)',
      '`[in code](docs/code.md)`',
      '',
      '    [indented code](docs/indented.md)',
      '',
      '```python',
      'x = [fenced](docs/fenced.md)',
      '```',
      '[ref]: docs/gate.md#the-push-gate',
      '[bad ref]: docs/missing.png',
  ]) + '\n')
  assert dead_links(root, README) == [
      'README.md:3: docs/gone.md (no such file)',
      'README.md:3: docs/gate.md#the-data-contract (no heading with that anchor)',
      'README.md:4: #nowhere (no heading with that anchor)',
      'README.md:13: docs/missing.png (no such file)',
  ]


def test_the_check_finds_a_docs_page_the_readme_does_not_link(tmp_path):
  root = str(tmp_path)
  _write(root, 'docs/gate.md', '# Gate\n')
  _write(root, 'docs/orphan.md', '# Orphan\n')
  _write(root, README, '[gate](docs/gate.md#gate)\n\n    [in code](docs/orphan.md)\n')
  assert unlinked_pages(root) == ['docs/orphan.md']


@pytest.mark.parametrize('heading, slug', [
    ('Call it over gRPC', 'call-it-over-grpc'),
    ('Tag posters from the command line: `postergenre-predict`',
     'tag-posters-from-the-command-line-postergenre-predict'),
    ('Run on Vertex AI / Kubeflow', 'run-on-vertex-ai--kubeflow'),
    ('1. Drops are spans of PosterExampleGen', '1-drops-are-spans-of-posterexamplegen'),
    ('Design (issue "Continuous training")', 'design-issue-continuous-training'),
    ('The **push** gate', 'the-push-gate'),
    ('`poster_predict/` and [links](x.md)', 'poster_predict-and-links'),
])
def test_headings_are_slugged_as_github_slugs_them(heading, slug):
  assert github_slug(heading) == slug


def test_repeated_headings_are_numbered():
  assert anchors('# Tests\n\n## Tests\n\n```\n# Tests\n```\n') == {'tests', 'tests-1'}
