"""The NER systems the comparison trains, scores and times, one module each."""
