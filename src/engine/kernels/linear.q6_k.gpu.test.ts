import { quantLinearSuite } from '../../test/linear-quant-check.ts';

quantLinearSuite('Q6_K');
