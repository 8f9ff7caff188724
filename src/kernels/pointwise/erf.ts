/**
 * The error function in float64, accurate to about one ulp, for exact GELU.
 *
 * JavaScript has no Math.erf. This follows the method of Sun's FDLIBM `s_erf.c`
 * (Copyright (C) 1993 by Sun Microsystems, Inc. All rights reserved. Developed at SunPro,
 * a Sun Microsystems, Inc. business. Permission to use, copy, modify, and distribute this
 * software is freely granted, provided that this notice is preserved.), whose minimax
 * coefficients are used below; the same algorithm backs glibc's and musl's erf, which is
 * what PyTorch's scalar path calls.
 *
 *   |x| < 0.84375:        erf(x) = x + x * P(x^2) / Q(x^2)
 *   0.84375 <= |x| < 1.25: erf(x) = c + P1(s) / Q1(s), s = |x| - 1, c = 0.84506291151 (single)
 *   1.25 <= |x| < 6:      erf(x) = 1 - exp(-x^2 - 0.5625 + R(1/x^2) / S(1/x^2)) / |x|
 *   |x| >= 6:             erf(x) = 1 in float64
 * with erf(-x) = -erf(x). In the third range -x^2 is split as -z^2 + (z - x)(z + x) with
 * z = fround(x) (24 significant bits, so z^2 is exact) to keep exp's argument exact.
 */

const ERX = 8.45062911510467529297e-1
const EFX = 1.28379167095512586316e-1 // 2/sqrt(pi) - 1
// erf on [0, 0.84375]
const PP0 = 1.28379167095512558561e-1
const PP1 = -3.2504210724700149937e-1
const PP2 = -2.84817495755985104766e-2
const PP3 = -5.77027029648944159157e-3
const PP4 = -2.37630166566501626084e-5
const QQ1 = 3.97917223959155352819e-1
const QQ2 = 6.50222499887672944485e-2
const QQ3 = 5.08130628187576562776e-3
const QQ4 = 1.32494738004321644526e-4
const QQ5 = -3.9602282787753681232e-6
// erf on [0.84375, 1.25]
const PA0 = -2.36211856075265944077e-3
const PA1 = 4.14856118683748331666e-1
const PA2 = -3.72207876035701323847e-1
const PA3 = 3.18346619901161753674e-1
const PA4 = -1.10894694282396677476e-1
const PA5 = 3.54783043256182359371e-2
const PA6 = -2.166375594868790843e-3
const QA1 = 1.06420880400844228286e-1
const QA2 = 5.40397917702171048937e-1
const QA3 = 7.18286544141962662868e-2
const QA4 = 1.26171219808761642112e-1
const QA5 = 1.36370839120290507362e-2
const QA6 = 1.1984499846799107417e-2
// erfc on [1.25, 1/0.35]
const RA0 = -9.86494403484714822705e-3
const RA1 = -6.93858572707181764372e-1
const RA2 = -1.05586262253232909814e1
const RA3 = -6.23753324503260060396e1
const RA4 = -1.62396669462573470355e2
const RA5 = -1.84605092906711035994e2
const RA6 = -8.12874355063065934246e1
const RA7 = -9.81432934416914548592
const SA1 = 1.96512716674392571292e1
const SA2 = 1.376577541435190426e2
const SA3 = 4.34565877475229228821e2
const SA4 = 6.45387271733267880336e2
const SA5 = 4.29008140027567833386e2
const SA6 = 1.08635005541779435134e2
const SA7 = 6.57024977031928170135
const SA8 = -6.04244152148580987438e-2
// erfc on [1/0.35, 6]
const RB0 = -9.86494292470009928597e-3
const RB1 = -7.99283237680523006574e-1
const RB2 = -1.77579549177547519889e1
const RB3 = -1.60636384855821916062e2
const RB4 = -6.37566443368389627722e2
const RB5 = -1.02509513161107724954e3
const RB6 = -4.83519191608651397019e2
const SB1 = 3.03380607434824582924e1
const SB2 = 3.25792512996573918826e2
const SB3 = 1.53672958608443695994e3
const SB4 = 3.19985821950859553908e3
const SB5 = 2.55305040643316442583e3
const SB6 = 4.74528541206955367215e2
const SB7 = -2.24409524465858183362e1

/** erf(x) to about one ulp in float64; erf(NaN) = NaN, erf(+-Infinity) = +-1. */
export function erf(x: number): number {
  if (x !== x) return x
  const ax = Math.abs(x)
  if (ax < 0.84375) {
    if (ax < 3.725290298461914e-9) return x + EFX * x // 2^-28: the series' next term is below an ulp
    const z = x * x
    const r = PP0 + z * (PP1 + z * (PP2 + z * (PP3 + z * PP4)))
    const s = 1 + z * (QQ1 + z * (QQ2 + z * (QQ3 + z * (QQ4 + z * QQ5))))
    return x + x * (r / s)
  }
  if (ax < 1.25) {
    const s = ax - 1
    const p = PA0 + s * (PA1 + s * (PA2 + s * (PA3 + s * (PA4 + s * (PA5 + s * PA6)))))
    const q = 1 + s * (QA1 + s * (QA2 + s * (QA3 + s * (QA4 + s * (QA5 + s * QA6)))))
    return x >= 0 ? ERX + p / q : -ERX - p / q
  }
  if (ax >= 6) return x > 0 ? 1 : -1
  const s = 1 / (ax * ax)
  let r: number
  let q: number
  if (ax < 1 / 0.35) {
    r = RA0 + s * (RA1 + s * (RA2 + s * (RA3 + s * (RA4 + s * (RA5 + s * (RA6 + s * RA7))))))
    q = 1 + s * (SA1 + s * (SA2 + s * (SA3 + s * (SA4 + s * (SA5 + s * (SA6 + s * (SA7 + s * SA8)))))))
  } else {
    r = RB0 + s * (RB1 + s * (RB2 + s * (RB3 + s * (RB4 + s * (RB5 + s * RB6)))))
    q = 1 + s * (SB1 + s * (SB2 + s * (SB3 + s * (SB4 + s * (SB5 + s * (SB6 + s * SB7))))))
  }
  const z = Math.fround(ax)
  const tail = (Math.exp(-z * z - 0.5625) * Math.exp((z - ax) * (z + ax) + r / q)) / ax
  return x > 0 ? 1 - tail : tail - 1
}
