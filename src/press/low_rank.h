// Truncated SVD of a tall matrix through the eigen-decomposition of its Gram matrix, for presses
// that store keys in low rank (ShadowKV). For X [m, D] with m ≥ D or not, the top-r right singular
// vectors V_r [D, r] are the eigenvectors of XᵀX (double precision: Householder
// tridiagonalisation, then implicit QL) with the r
// largest eigenvalues; then A = X V_r [m, r] (= U_r Σ_r) and B = V_rᵀ [r, D], so A·B is the best
// rank-r approximation of X in Frobenius norm (Eckart–Young).
#pragma once

#include <vector>

namespace kvpress {

// Eigen-decomposition of the symmetric matrix `a` [n, n] (row-major; destroyed). Writes the
// eigenvalues [n] in descending order and the matching unit eigenvectors as the columns of
// `vectors` [n, n] (row-major).
void SymmetricEigen(std::vector<double>& a, int n, std::vector<double>& values,
                    std::vector<double>& vectors);

// Rank-r factors of x [m, D] (row-major): a [m, r] and b [r, D] with x ≈ a·b. r is clamped to
// min(m, D); returns the rank used.
int LowRankFactors(const std::vector<float>& x, int m, int D, int r, std::vector<float>& a,
                   std::vector<float>& b);

}  // namespace kvpress
