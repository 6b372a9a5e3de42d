// The alerts modality: astronomy alert packets (ZTF, Rubin). Its parts register here: the
// light-curve grid preprocessor (`lightcurve`).
import './lightcurve.js';
