"""Classify: the topic classifier and everything around it.

`types` (values, nothing heavy) → `features` → `model` (a fitted classifier) ← `training`;
`model_format` stores a model as arrays and JSON; `registry` keeps model versions in the
database; `tagging` tags stored articles; `corrections` applies editors' rulings;
`evaluation` scores a model on a labelled file. Only `features`, `model`, `training` and
`evaluation` load scikit-learn: import them where a model is really needed.
"""
