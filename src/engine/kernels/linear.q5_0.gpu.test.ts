import { quantLinearSuite } from '../../test/linear-quant-check.ts';

quantLinearSuite('Q5_0');
