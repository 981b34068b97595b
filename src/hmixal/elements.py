"""The 70 elements hmixal covers and their 22 pure-element properties (the feature sources)."""

from __future__ import annotations

# METHOD.md §1: every element with Miedema parameters and SGTE data, minus H, N, Pm.
ELEMENTS: tuple[str, ...] = (
    "Li Be B C Na Mg Al Si P K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Rb Sr Y Zr Nb Mo Tc Ru Rh Pd "
    "Ag Cd In Sn Sb Cs Ba La Ce Pr Nd Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi "
    "Th U Pu"
).split()

# Property names follow the seed's supplementary Table 1 (feature names are "<property>_mean" / "_avgdev").
MAGPIE_PROPERTIES: tuple[str, ...] = (
    "Column",
    "MendeleevNumber",
    "NValence",
    "NUnfilled",
    "Electronegativity",
    "FirstIonizationEnergy",
    "Polarizability",
    "Density",
    "MolarVolume",
    "MeltT",
    "BoilingT",
    "ThermalConductivity",
    "HeatVaporization",
)
SGTE_PROPERTIES: tuple[str, ...] = ("Cpliq", "Cpsol", "Cpfus", "Hliq", "Hsol", "Hfus", "Sliq", "Ssol", "Sfus")
PROPERTIES: tuple[str, ...] = MAGPIE_PROPERTIES + SGTE_PROPERTIES
