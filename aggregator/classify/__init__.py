"""Classify: the topic classifier and everything around it.

`types` (values, nothing heavy) → `features` (with `fast_tfidf`, its fast path, and
`organisations`, the field's organisations found in a text) → `model` (a fitted classifier)
← `training`; `model_format` stores a model as arrays and JSON, and `model_cache` keeps the
models a process has loaded; `registry` keeps model versions in the database, trains them
from every signal (`self_training` picks the stored articles the active model is sure of)
and activates one only if `activation` finds it no worse; `tagging` tags stored articles;
`corrections` applies editors' rulings; `evaluation` scores a model on a labelled file.
Only `features`, `fast_tfidf`, `model`, `model_format`, `model_cache`, `training`,
`self_training` and `evaluation` load scikit-learn: import them where a model is really
needed.
"""
