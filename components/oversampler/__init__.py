"""RareGenreOversampler: repeats train posters of rare genres; eval and test pass through."""
