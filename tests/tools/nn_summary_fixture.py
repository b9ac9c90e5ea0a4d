#!/usr/bin/python3
"""Writes the expected `vggtop summary` texts under tests/fixtures/nn/, laid out here independently of the
C code:

    summary_cnn.txt          cnn, 28x28x1, 10 classes
    summary_vgg16_notop.txt  vgg16, 48x48x3, 100 classes, include_top 0, pooling avg

    /usr/bin/python3 tests/tools/nn_summary_fixture.py

The layout is tf.keras 2.9-2.12's for a sequential-like model: line length 65, fields ending at
int(65 * .45) = 29, int(65 * .85) = 55 and 65, each field cut to its width minus 2 (the last to its full
width), what does not fit continued on the next line; rows start one space in; a 65-space line separates
layer rows; the totals use thousands separators. The architectures are README's (section Models).
"""
import os

POSITIONS = [29, 55, 65]
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # tests/, this folder's parent


def rows_of(fields):
    """The printed lines of one table row, wrapping each field at its cutoff."""
    left = [str(f) for f in fields]
    lines = []
    while any(left):
        line = ' '
        start = 0
        for i, end in enumerate(POSITIONS):
            cutoff = end - start - (2 if i < len(POSITIONS) - 1 else 0)
            piece, left[i] = left[i][:cutoff], left[i][cutoff:]
            width = end - start - (1 if i == 0 else 0)  # the leading space takes the first column
            line += piece.ljust(width)
            start = end
        lines.append(line)
    return lines


def conv_base(h, w, c, blocks):
    rows = []
    for b, (filters, convs, pool) in enumerate(blocks, 1):
        for k in range(1, convs + 1):
            params = 3 * 3 * c * filters + filters
            c = filters
            rows.append(('block%d_conv%d (Conv2D)' % (b, k), '(None, %d, %d, %d)' % (h, w, c), params))
        if pool:
            h, w = h // 2, w // 2
            rows.append(('block%d_pool (MaxPooling2D)' % b, '(None, %d, %d, %d)' % (h, w, c), 0))
    return rows, h, w, c


def summary(name, h0, w0, c0, rows):
    rows = [('input_1 (InputLayer)', '[(None, %d, %d, %d)]' % (h0, w0, c0), 0)] + rows
    total = sum(r[2] for r in rows)
    lines = ['Model: "%s"' % name, '_' * 65] + rows_of(('Layer (type)', 'Output Shape', 'Param #')) + ['=' * 65]
    for i, r in enumerate(rows):
        if i:
            lines.append(' ' * 65)
        lines += rows_of(r)
    lines += ['=' * 65, 'Total params: {:,}'.format(total), 'Trainable params: {:,}'.format(total),
              'Non-trainable params: 0', '_' * 65]
    return '\n'.join(lines) + '\n'


def cnn():
    rows, h, w, c = conv_base(28, 28, 1, [(32, 2, True), (64, 2, True)])
    flat = h * w * c
    rows += [('flatten (Flatten)', '(None, %d)' % flat, 0), ('fc1 (Dense)', '(None, 512)', flat * 512 + 512),
             ('predictions (Dense)', '(None, 10)', 512 * 10 + 10)]
    return summary('cnn', 28, 28, 1, rows)


def vgg16_notop_avg():
    rows, h, w, c = conv_base(48, 48, 3, [(64, 2, True), (128, 2, True), (256, 3, True), (512, 3, True),
                                          (512, 3, True)])
    rows += [('global_average_pooling2d (GlobalAveragePooling2D)', '(None, %d)' % c, 0),
             ('predictions (Dense)', '(None, 100)', c * 100 + 100)]
    return summary('vgg16', 48, 48, 3, rows)


def main():
    for fname, text in (('summary_cnn.txt', cnn()), ('summary_vgg16_notop.txt', vgg16_notop_avg())):
        out = os.path.join(HERE, 'fixtures', 'nn', fname)
        with open(out, 'w') as f:
            f.write(text)
        print('wrote', out)


if __name__ == '__main__':
    main()
