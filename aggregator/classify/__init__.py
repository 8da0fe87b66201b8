"""Classify: the topic classifier and everything around it.

`types` (values, nothing heavy) → `features` (with `fast_tfidf`, its fast path) → `model`
(a fitted classifier) ← `training`; `model_format` stores a model as arrays and JSON, and
`model_cache` keeps the models a process has loaded; `registry` keeps model versions in
the database; `tagging` tags stored articles; `corrections` applies editors' rulings;
`evaluation` scores a model on a labelled file. Only `features`, `fast_tfidf`, `model`,
`model_format`, `model_cache`, `training` and `evaluation` load scikit-learn: import them
where a model is really needed.
"""
