import { quantLinearSuite } from '../../test/linear-quant-check.ts';

quantLinearSuite('Q8_0');
