"""Finding the exception a run stopped on: orchestrators wrap what an executor raises."""
from typing import Optional, Tuple, Type


def cause(error: Optional[BaseException],
          kinds: Tuple[Type[BaseException], ...]) -> Optional[BaseException]:
  """The exception of one of `kinds` that `error` was raised from (or is), or None."""
  while error is not None and not isinstance(error, kinds):
    error = error.__cause__ or error.__context__
  return error
