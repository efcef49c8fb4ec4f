"""The diagnosis: regime, onset and best epoch, gap, evidence and advice, from a history alone.

Pure functions of a `History` and an optional `Context`: no model, no files, no clock, no randomness.

The rooms, in the order a diagnosis flows through them:
    values.py      regimes, the remedies a `Context` may name, thresholds; `Context`, `Diagnosis`, `Advice`
    trend.py       trend statistics of one curve: smoothing, valley fit, noise, Mann-Kendall, Theil-Sen, rank-sum
    curves.py      one member's curves as the history holds them, and how sentences name them
    facts.py       what is read from the curves, once: the turn, the rise, divergence, the score and gap signs
    rules.py       the verdict: regime, onset epoch, confidence
    evidence.py    sentences with the numbers behind the verdict
    advice.py      remedies ranked for the verdict, with their reasons
    diagnosis.py   the above put together for one member (`diagnose`) and for several seeds (`diagnose_seeds`)
The thresholds named below (`MIN_RISE`, `TREND_P`, ...) are constants in `values.py`.

How the verdict is reached, for one member (`diagnose_seeds` combines several):

0. Beside the loss, a secondary score (`History.score`): accuracy when logged, else the first of
   R², RMSE and MAE (a regression log), read with its direction (`history.SCORES`: higher is better
   for accuracy and R², lower for the errors). Wherever this page says accuracy, it means that score:
   "falls" is "gets worse", a rise of MAE is a fall. Accuracy and R² are on a 0-1 scale and keep the
   thresholds in points; RMSE and MAE are in the target's units, so theirs are relative (`MIN_RISE`
   of the level, as for a loss). Chance is 1/C for accuracy and 0 for R² (predicting the mean);
   the errors have none, and the loss of guessing, ln C, applies only to a classification loss.
1. The judged curve is the validation loss, or the validation error (1 - accuracy, 1 - R², or the
   RMSE or MAE itself) when no loss was logged, at the epochs where it was logged (so validation
   every N epochs works).
   It is smoothed with a running median (window about n/12, odd, 3 to 11; none below 8 points)
   followed by a running mean of 3, and never judged one epoch against the next.
2. `diverged`: a loss became infinite, a loss logged every epoch went missing (NaN) for the last
   epochs while other metrics went on, the training loss climbed back to at least twice its
   minimum and half-way to where it started (or above its start), it exploded past 10x its first
   value and ended no better than that, it reached twice the loss of uniform guessing, ln C, and
   ended with accuracy at chance (C unknown: an accuracy that never learned gives it, C = 1 / accuracy),
   it began 100x above where it sat afterwards and learned nothing from there (an explosion in the
   first epoch), or it jumped 1000x in one epoch. No NaN is needed. A loss that blew up at any point
   is never advised a larger learning rate, whatever the regime.
3. Fewer than `MIN_EPOCHS_TO_JUDGE` validated epochs: too short to judge. The verdict stays
   conservative (still_improving unless the loss already rose `MIN_RISE` while training loss
   fell) and its confidence is low.
4. `memorization`: training accuracy ends at or above `NEAR_PERFECT` while the best validation
   accuracy stays within `NEAR_CHANCE` of chance (1/num_classes; estimated from the validation
   loss when the number of classes is unknown). Without a score: the number of classes known, the
   validation loss never fell below `1 - NEAR_CHANCE` of the loss of guessing, ln C, while training
   loss fell by 90%. A loss that was lowest in the first epochs and then rose, nothing more known,
   is overfitting: the first epoch may have learned all there was to learn.
5. `overfitting`, from the three signs the article names:
   - the rise: after the turning point (the onset: the bottom of the least-squares valley-shaped
     fit, non-increasing then non-decreasing, to the curve averaged over 3 epochs, then the lowest
     raw point within one epoch of it), the raw curve rises with a one-sided Mann-Kendall
     test p < `TREND_P` over at least 3 later points, and the Theil-Sen rise from there to the end
     is at least `MIN_RISE` of the smoothed minimum and at least `NOISE_MULTIPLE` standard errors of
     the epoch-to-epoch noise (estimated from second differences). A rise past `WEAK_NOISE`
     standard errors with p < `WEAK_P` is a weak rise. A rise that came fast and then stayed (or
     drifted back a little) is no trend over all the epochs after the turn, so a lasting rise
     counts as a clear one too: the median of the last third of those epochs sits at least
     `STEP_RISE` of the smoothed minimum and `STEP_NOISE` standard errors of the noise above the
     median of the turn and the 4 epochs after it, with a one-sided rank-sum p < `TREND_P`;
   - validation accuracy, from the top of its hill-shaped fit, falls `ACC_FALL` (or stalls) while
     training accuracy climbs `ACC_CLIMB`, each with a Mann-Kendall trend;
   - the gap (training minus validation accuracy, else validation minus training loss) widens
     `GAP_WIDEN` (`MIN_RISE` of the loss) since the turn, with a trend.
   A clear rise is enough; a weak rise needs the accuracy falling, or the gap widening while it
   stalls (or while no accuracy is logged); without a rise the accuracy must fall and the gap widen.
   The onset is the loss's turning point, or the accuracy's peak when the loss did not rise.
6. `still_improving`: over the last third of the run the curve falls (Mann-Kendall p < `TREND_P`)
   by at least `MIN_GAIN` (Theil-Sen slope times the span); also a run that fits its training
   data badly but whose training loss is still falling that way.
7. `underfitting`: training accuracy ends below `UNDERFIT` of the way from chance to 100%; with
   losses only, training loss above half the chance-level loss ln(C), or, with C unknown, a
   training loss that fell less than half and sits within 5% of the validation loss.
8. `good_fit`: none of the above.

`best_epoch` is the epoch of the lowest raw validation loss (highest accuracy): the weights to
keep. `onset_epoch` is where overfitting (or divergence) began, None for other regimes. Evidence
quotes where a curve ended as its last logged value, one figure for one quantity; decisions use the
median of the last 3, so one odd epoch does not decide. What the reader did to the log (steps
grouped into epochs) opens the evidence.
"""
from goodfit.diagnose.curves import curve_name
from goodfit.diagnose.diagnosis import diagnose, diagnose_seeds
from goodfit.diagnose.values import (CONFIDENCE, MIN_EPOCHS_TO_JUDGE, MIN_VALIDATED, REGIMES, REMEDIES, Advice, Context,
                                     Diagnosis, context_from_config)

__all__ = ["CONFIDENCE", "MIN_EPOCHS_TO_JUDGE", "MIN_VALIDATED", "REGIMES", "REMEDIES", "Advice", "Context",
           "Diagnosis", "context_from_config", "curve_name", "diagnose", "diagnose_seeds"]

