"""Prototype for chapter 12 fairness (not part of the book). Output of a run on 2026-12-06 (2 busy cores):
(32561, 105) (16281, 105) base rates {np.str_('Female'): np.float64(0.1095), np.str_('Male'): np.float64(0.3057)} 1.374448299407959
fit 17.70023512840271
LR                             acc 0.8459 DP 0.1716 EO 0.0906
sklearn LR                     acc 0.8456 DP 0.1697 EO 0.0820
GroupRates(groups=array(['Female', 'Male'], dtype='<U6'), count=array([ 5421, 10860]), selection_rate=array([0.07747648, 0.24907919]), accuracy=array([0.92326139, 0.8072744 ]), tpr=array([0.50338983, 0.59398034]), fpr=array([0.02546057, 0.101394  ]), fnr=array([0.49661017, 0.40601966]), base_rate=array([0.10883601, 0.29981584]))
TO demographic_parity          acc 0.8264 DP 0.0025 EO 0.3168
0.8826472759246826
TO equalized_odds              acc 0.8297 DP 0.0836 EO 0.0076
0.676828145980835
EG DP 0.01                     acc 0.8288 DP 0.0161 EO 0.2531
111.00235724449158 16
EG DP 0.05                     acc 0.8391 DP 0.0721 EO 0.1367
119.71546506881714 11
EG EO 0.01                     acc 0.8368 DP 0.1005 EO 0.0166
155.355406999588 18
EG EO 0.05                     acc 0.8453 DP 0.1524 EO 0.0638
211.85334849357605 18
"""
import time, numpy as np
from companion.data.tabular import load_adult
from companion.metrics.fairness import group_rates, demographic_parity_difference, equalized_odds_difference
from sklearn.base import BaseEstimator, ClassifierMixin
t0 = time.time()
train, test = load_adult()
cat = ["workclass", "education", "marital-status", "occupation", "relationship", "race", "native-country"]
num = ["age", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
def encode(split, ref):
    cols = []
    for c in num:
        x = split.columns[c]; r = ref.columns[c]
        if c.startswith("capital"):
            x, r = np.log1p(x), np.log1p(r)
        cols.append(((x - r.mean()) / r.std())[:, None])
    for c in cat:
        levels = sorted(set(ref.columns[c]))
        cols.append((split.columns[c][:, None] == np.array(levels)[None, :]).astype(float))
    return np.hstack(cols)
X, Xt = encode(train, train), encode(test, train)
y, yt = train.income, test.income
a, at = train.columns["sex"], test.columns["sex"]
print(X.shape, Xt.shape, "base rates", {g: y[a == g].mean().round(4) for g in np.unique(a)}, time.time()-t0)
class LogReg(BaseEstimator, ClassifierMixin):
    def __init__(self, l2=1e-4, steps=300, lr=0.5):
        self.l2, self.steps, self.lr = l2, steps, lr
    def fit(self, X, y, sample_weight=None):
        X = np.asarray(X, float); y = np.asarray(y, float)
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
        w = w / w.sum()
        self.coef_ = np.zeros(X.shape[1]); self.intercept_ = 0.0; self.classes_ = np.array([0, 1])
        # full-batch gradient descent with Adam-free plain GD? use Newton? use GD with lr
        for _ in range(self.steps):
            p = 1 / (1 + np.exp(-(X @ self.coef_ + self.intercept_)))
            g = w * (p - y)
            self.coef_ -= self.lr * (X.T @ g + self.l2 * self.coef_)
            self.intercept_ -= self.lr * g.sum()
        return self
    def decision_function(self, X):
        return np.asarray(X, float) @ self.coef_ + self.intercept_
    def predict_proba(self, X):
        p = 1 / (1 + np.exp(-self.decision_function(X))); return np.stack([1 - p, p], 1)
    def predict(self, X):
        return (self.decision_function(X) > 0).astype(int)
t = time.time(); m = LogReg(steps=1000, lr=2.0).fit(X, y); print("fit", time.time()-t)
def report(name, pred):
    print(f"{name:30s} acc {np.mean(pred == yt):.4f} DP {demographic_parity_difference(yt, pred, sensitive_features=at):.4f} EO {equalized_odds_difference(yt, pred, sensitive_features=at):.4f}")
report("LR", m.predict(Xt))
from sklearn.linear_model import LogisticRegression
sk = LogisticRegression(max_iter=2000, C=1e4).fit(X, y); report("sklearn LR", sk.predict(Xt))
r = group_rates(yt, m.predict(Xt), at); print(r)
from fairlearn.postprocessing import ThresholdOptimizer
from fairlearn.reductions import ExponentiatedGradient, DemographicParity, EqualizedOdds
for cons in ("demographic_parity", "equalized_odds"):
    t = time.time()
    to = ThresholdOptimizer(estimator=m, constraints=cons, prefit=True, predict_method="decision_function")
    to.fit(X, y, sensitive_features=a)
    report(f"TO {cons}", to.predict(Xt, sensitive_features=at, random_state=0)); print(time.time()-t)
for C, name in ((DemographicParity, "DP"), (EqualizedOdds, "EO")):
    for eps in (0.01, 0.05):
        t = time.time()
        eg = ExponentiatedGradient(LogReg(steps=300, lr=2.0), C(difference_bound=eps), eps=eps)
        eg.fit(X, y, sensitive_features=a)
        report(f"EG {name} {eps}", eg.predict(Xt, random_state=0)); print(time.time()-t, len(eg.predictors_))
